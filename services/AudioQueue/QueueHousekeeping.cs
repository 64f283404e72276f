using Platform.ServiceDefaults;

namespace Platform.AudioQueue;

/// <summary>
/// Every second on every replica: expired leases go back to the queue, finished backoffs become ready,
/// and waiters re-check (in case a queue event was lost). Every few seconds the queue's numbers are
/// read for the platform.audioqueue.* gauges.
/// </summary>
public sealed partial class QueueHousekeeping(LeaseStore leases, QueueAdmin admin, QueueEvents events, QueueMetrics metrics, ILogger<QueueHousekeeping> logger)
    : BackgroundService
{
    static readonly TimeSpan Period = TimeSpan.FromSeconds(1);
    const int StatsEveryTicks = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        for (var tick = 0; await timer.WaitForNextTickAsync(stoppingToken); tick++)
        {
            try
            {
                var result = await leases.HousekeepAsync();
                if (result.ReturnedToQueue + result.Dead > 0)
                {
                    LogLeasesExpired(result.ReturnedToQueue, result.Dead);
                }
                if (tick % StatsEveryTicks == 0)
                {
                    metrics.Observed(await admin.GetStatsAsync());
                }
            }
            catch (Exception e) when (RedisFailures.IsUnavailable(e))
            {
                LogRedisUnavailable(e.Message);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Anything else (a script error, bad data) must not stop the service: log, try next second.
                LogFailed(e);
            }
            events.Pulse();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leases expired: {Requeued} jobs queued again, {Dead} dead after their last attempt")]
    partial void LogLeasesExpired(long requeued, long dead);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue housekeeping failed; retrying next second")]
    partial void LogFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue housekeeping skipped: Redis unavailable ({Reason})")]
    partial void LogRedisUnavailable(string reason);
}
