using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Health;

public sealed class ErrorRateHealthCheck(RequestOutcomes outcomes, IOptionsMonitor<AlertOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var alert = options.CurrentValue;
        var (requests, errors) = (outcomes.Requests.Total, outcomes.ServerErrors.Total);
        var rate = requests == 0 ? 0 : (double)errors / requests;
        return Task.FromResult(requests >= alert.ErrorRateMinRequests && rate > alert.ErrorRate
            ? HealthCheckResult.Degraded($"{errors} of {requests} requests failed in the last {alert.Window} ({rate:P0}; threshold Alerts:ErrorRate = {alert.ErrorRate:P0})")
            : HealthCheckResult.Healthy($"{errors} of {requests} requests failed in the last {alert.Window}"));
    }
}

public sealed class DegradedDecisionsHealthCheck(DegradedDecisions decisions, IOptionsMonitor<AlertOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var alert = options.CurrentValue;
        var count = decisions.InWindow;
        return Task.FromResult(count > alert.DegradedDecisions
            ? HealthCheckResult.Degraded($"{count} decisions taken without a dependency (fail open/closed, local limits, cache bypass) in the last {alert.Window} (threshold Alerts:DegradedDecisions = {alert.DegradedDecisions})")
            : HealthCheckResult.Healthy());
    }
}
