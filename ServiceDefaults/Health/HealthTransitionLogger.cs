using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Platform.ServiceDefaults.Health;

/// <summary>Runs the health checks in the background (Alerts:EvaluationPeriod) and logs a warning whenever one changes status.</summary>
public sealed partial class HealthTransitionLogger(ILogger<HealthTransitionLogger> logger) : IHealthCheckPublisher
{
    readonly ConcurrentDictionary<string, HealthStatus> last = new();

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        foreach (var (name, entry) in report.Entries)
        {
            var previous = last.GetValueOrDefault(name, HealthStatus.Healthy);
            last[name] = entry.Status;
            if (previous != entry.Status)
            {
                LogTransition(logger, name, previous, entry.Status, entry.Description ?? entry.Exception?.Message ?? "");
            }
        }
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 9100, EventName = "HealthTransition", Level = LogLevel.Warning,
        Message = "Health check {Check} went from {From} to {To}: {Reason}")]
    static partial void LogTransition(ILogger logger, string check, HealthStatus from, HealthStatus to, string reason);
}
