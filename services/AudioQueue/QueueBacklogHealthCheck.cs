using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Health;

namespace Platform.AudioQueue;

/// <summary>Degraded while the queue is deeper, or its oldest job older, than the alert thresholds (as of the last stats sweep).</summary>
public sealed class QueueBacklogHealthCheck(QueueMetrics metrics, IOptionsMonitor<AlertOptions> alerts, IOptionsMonitor<AudioQueueOptions> queue) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (metrics.Last is not { } stats)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no stats yet"));
        }
        var alert = alerts.CurrentValue;
        var maxDepth = alert.QueueDepth > 0 ? alert.QueueDepth : Math.Max(1, queue.CurrentValue.MaxDepth * 8 / 10);
        var reasons = new List<string>();
        if (stats.Depth > maxDepth)
        {
            reasons.Add($"{stats.Depth} jobs waiting (threshold Alerts:QueueDepth = {maxDepth})");
        }
        if (stats.OldestQueuedAge is { } age && age > alert.OldestJobAge)
        {
            reasons.Add($"the oldest job has waited {age:hh\\:mm\\:ss} (threshold Alerts:OldestJobAge = {alert.OldestJobAge})");
        }
        return Task.FromResult(reasons.Count > 0
            ? HealthCheckResult.Degraded(string.Join("; ", reasons) + (stats.Paused ? " (the queue is paused)" : ""))
            : HealthCheckResult.Healthy($"{stats.Depth} jobs waiting"));
    }
}
