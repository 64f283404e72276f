using Microsoft.Extensions.Options;

namespace Platform.AudioQueue;

/// <summary>
/// Estimates how long a queued job waits: the jobs ahead of it are shared by MaxConcurrency workers,
/// each taking the typical job duration.
/// </summary>
public sealed class WaitTimeEstimator(IOptionsMonitor<AudioQueueOptions> options)
{
    public TimeSpan Estimate(long jobsAhead)
    {
        var queue = options.CurrentValue;
        return queue.TypicalJobDuration * ((double)jobsAhead / Math.Max(1, queue.MaxConcurrency));
    }
}
