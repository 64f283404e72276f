using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Health;

namespace Platform.ServiceDefaults.Admission;

/// <summary>Degraded while the service refuses requests at the door (any in the alert window), saying which classes are full.</summary>
public sealed class AdmissionHealthCheck(AdmissionControl admission, IOptionsMonitor<AlertOptions> alerts) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var refused = admission.Refusals.Total;
        if (refused == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy());
        }
        var classes = string.Join("; ", admission.Gates.Where(g => g.Shed > 0)
            .Select(g => $"{g.Name}: limit {g.Limit} (ceiling {g.Ceiling}), {g.InFlight} in flight, {g.Queued} waiting"));
        return Task.FromResult(HealthCheckResult.Degraded(
            $"Shedding load: {refused} requests refused in the last {alerts.CurrentValue.Window} ({classes}; saturation delay {admission.SaturationDelay.TotalMilliseconds:0} ms)"));
    }
}
