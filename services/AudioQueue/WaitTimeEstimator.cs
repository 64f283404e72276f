namespace Platform.AudioQueue;

/// <summary>
/// Estimates how long a waiting job waits before a worker starts it, from the measured processing time
/// (a moving average kept in Redis), the jobs ahead of it and the concurrency limit.
/// </summary>
/// <remarks>
/// With c slots, jobs finish at a rate of c per average duration d. A job with n jobs ahead starts when
/// n + 1 slots have come free: at once while a free slot remains; otherwise after the first busy slot
/// frees (about d / (p + 1) with p jobs part-way through, or d when none is yet running) and then one
/// slot every d / c for the rest. It assumes workers fill the concurrency limit (the built-in worker
/// does, by default).
/// </remarks>
public static class WaitTimeEstimator
{
    public static TimeSpan Estimate(long jobsAhead, QueueLoad load)
    {
        var slots = Math.Max(1, load.MaxConcurrency);
        var free = Math.Max(0, slots - load.Processing);
        if (jobsAhead < free)
        {
            return TimeSpan.Zero;
        }
        var average = load.AverageProcessingTime;
        var firstSlotFree = load.Processing > 0 ? average / (Math.Min(load.Processing, slots) + 1) : average;
        var completionsAfterFirst = jobsAhead - free;
        return firstSlotFree + average * ((double)completionsAfterFirst / slots);
    }
}
