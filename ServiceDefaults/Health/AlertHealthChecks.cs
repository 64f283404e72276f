using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

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

/// <summary>Degraded while Redis answers slowly. (Redis unreachable is the "redis" check's Unhealthy.)</summary>
public sealed class RedisLatencyHealthCheck(IConnectionMultiplexer redis, IOptionsMonitor<AlertOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var threshold = options.CurrentValue.RedisLatency;
        if (!redis.IsConnected)
        {
            return HealthCheckResult.Healthy("not connected (see the redis check)");
        }
        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            return latency > threshold
                ? HealthCheckResult.Degraded($"Redis answered PING in {latency.TotalMilliseconds:0.#} ms (threshold Alerts:RedisLatency = {threshold.TotalMilliseconds:0} ms)")
                : HealthCheckResult.Healthy($"PING {latency.TotalMilliseconds:0.#} ms");
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            return HealthCheckResult.Healthy("not answering (see the redis check)");
        }
    }
}
