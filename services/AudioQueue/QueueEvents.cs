using StackExchange.Redis;

namespace Platform.AudioQueue;

/// <summary>
/// Wakes long-polling workers and job watchers on every replica when the queue changes. Every state
/// change publishes on one Redis channel; waiters re-read what they care about. Housekeeping also
/// pulses once a second, so a lost message (or a Redis without pub/sub) delays a waiter by at most that.
/// </summary>
public sealed partial class QueueEvents(IConnectionMultiplexer redis, ILogger<QueueEvents> logger) : BackgroundService
{
    TaskCompletionSource next = NewSignal();

    /// <summary>
    /// Completes at the next change. Take it before reading the state it guards, then await it, so a
    /// change between the read and the wait is not missed.
    /// </summary>
    public Task Next => Volatile.Read(ref next).Task;

    public void Pulse() => Interlocked.Exchange(ref next, NewSignal()).TrySetResult();

    public async Task PublishAsync(string jobId)
    {
        Pulse();
        try
        {
            await redis.GetSubscriber().PublishAsync(QueueKeys.Events, jobId, CommandFlags.FireAndForget);
        }
        catch (Exception e)
        {
            // The change is stored; other replicas notice it at their next housekeeping pulse.
            LogPublishFailed(e.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await redis.GetSubscriber().SubscribeAsync(QueueKeys.Events, (_, _) => Pulse());
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Housekeeping pulses every second meanwhile, so waiters still wake.
                LogSubscribeFailed(e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue event publish failed; other replicas notice the change within a second ({Reason})")]
    partial void LogPublishFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to queue events failed; retrying ({Reason})")]
    partial void LogSubscribeFailed(string reason);
}
