using Microsoft.Extensions.Options;
using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.AudioQueue;

public sealed record LeasedJob(JobRecord Job, ReadOnlyMemory<byte> Audio)
{
    /// <summary>The lease token: pass it to Renew, Complete, Fail and Release.</summary>
    public string Token => Job.Token;
}

/// <summary>The outcome of a call made with a lease token.</summary>
/// <param name="Held">False when the token no longer holds the job (lease expired and redelivered, job cancelled).</param>
/// <param name="State">The job's state after the call; when not held, its current state (null: no such job).</param>
/// <param name="At">Renew: the new lease deadline. Fail: when the retry becomes ready.</param>
/// <param name="ProcessingTime">Complete: lease to completion.</param>
public readonly record struct LeaseOutcome(bool Held, JobStatus? State, DateTimeOffset? At = null, TimeSpan? ProcessingTime = null);

public readonly record struct HousekeepingResult(long ReturnedToQueue, long Dead, long BecameReady);

/// <summary>
/// The worker side of the queue: lease, renew, complete, fail. A lease holds a job until its deadline;
/// its token changes with every lease, so only the current holder can finish the job.
/// </summary>
public sealed class LeaseStore(
    IConnectionMultiplexer redis, IOptionsMonitor<AudioQueueOptions> options, QueueClock clock, QueueEvents events, QueueMetrics metrics)
{
    static readonly RedisScript LeaseScript = RedisScript.FromResource(typeof(LeaseStore).Assembly, "lease.lua");
    static readonly RedisScript RenewScript = RedisScript.FromResource(typeof(LeaseStore).Assembly, "renew.lua");
    static readonly RedisScript CompleteScript = RedisScript.FromResource(typeof(LeaseStore).Assembly, "complete.lua");
    static readonly RedisScript FailScript = RedisScript.FromResource(typeof(LeaseStore).Assembly, "fail.lua");

    /// <summary>Weight of the newest processing time in the moving average (about the last ten jobs count).</summary>
    const double AverageWeight = 0.2;

    /// <summary>
    /// Leases up to <paramref name="maxJobs"/> jobs, waiting up to <paramref name="maxWait"/> for any to
    /// become ready (woken by queue events from every replica).
    /// </summary>
    public async Task<IReadOnlyList<LeasedJob>> LeaseAsync(
        string workerId, int maxJobs, TimeSpan leaseDuration, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + maxWait;
        while (true)
        {
            var changed = events.Next;
            var (jobs, _) = await RunLeaseScriptAsync(workerId, maxJobs, leaseDuration);
            if (cancellationToken.IsCancellationRequested)
            {
                // The caller left (deadline, shutdown) while the script ran: nobody would process these.
                foreach (var job in jobs)
                {
                    await ReleaseAsync(job.Job.Id, job.Token);
                }
                cancellationToken.ThrowIfCancellationRequested();
            }
            var remaining = deadline - DateTimeOffset.UtcNow;
            if (jobs.Count > 0 || remaining <= TimeSpan.Zero)
            {
                return jobs;
            }
            try
            {
                await changed.WaitAsync(remaining, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Time is up; one last look below.
            }
        }
    }

    /// <summary>Expired leases back to the queue (or dead), finished backoffs ready again.</summary>
    public async Task<HousekeepingResult> HousekeepAsync() => (await RunLeaseScriptAsync("", 0, TimeSpan.Zero)).Housekeeping;

    async Task<(IReadOnlyList<LeasedJob> Jobs, HousekeepingResult Housekeeping)> RunLeaseScriptAsync(string workerId, int maxJobs, TimeSpan leaseDuration)
    {
        var queue = options.CurrentValue;
        var result = (RedisResult[])(await LeaseScript.EvaluateAsync(
            redis.GetDatabase(),
            [
                QueueKeys.State, QueueKeys.Ready, QueueKeys.Delayed, QueueKeys.Processing, QueueKeys.Waiting,
                QueueKeys.TenantDepth, QueueKeys.PriorityDepth, QueueKeys.TenantActive, QueueKeys.Dead,
                QueueKeys.FailedRecently, QueueKeys.SucceededRecently, QueueKeys.FairnessCursors,
            ],
            [
                clock.ScriptArgument(), maxJobs, JobStore.Micros(leaseDuration), workerId, Guid.NewGuid().ToString("N"),
                queue.MaxConcurrency, queue.MaxProcessingPerTenant, queue.MaxAttempts, queue.LeaseScanDepth,
                QueueKeys.JobPrefix, QueueKeys.AudioPrefix,
            ]))!;
        var housekeeping = new HousekeepingResult((long)result[0], (long)result[1], (long)result[2]);
        var jobs = ((RedisResult[])result[3]!).Select(entry =>
        {
            var parts = (RedisResult[])entry!;
            var job = JobRecord.Parse(parts[0])!;
            return new LeasedJob(job, (byte[])parts[1]!);
        }).ToList();

        foreach (var job in jobs)
        {
            metrics.Leased(job.Job);
        }
        if (housekeeping.ReturnedToQueue + housekeeping.Dead + housekeeping.BecameReady > 0)
        {
            metrics.Housekept(housekeeping);
        }
        if (jobs.Count > 0 || housekeeping.ReturnedToQueue + housekeeping.Dead + housekeeping.BecameReady > 0)
        {
            await events.PublishAsync(""); // one wake-up for everything this call moved
        }
        return (jobs, housekeeping);
    }

    public async Task<LeaseOutcome> RenewAsync(string id, string token, double progress)
    {
        var result = (RedisResult[])(await RenewScript.EvaluateAsync(
            redis.GetDatabase(), [QueueKeys.State, QueueKeys.Job(id), QueueKeys.Processing],
            [clock.ScriptArgument(), id, token, progress]))!;
        if ((string)result[0]! != "ok")
        {
            return new LeaseOutcome(false, JobStore.StateOf(result[1]));
        }
        await events.PublishAsync(id);
        return new LeaseOutcome(true, JobStatus.Processing, JobRecord.FromUnixMs((string?)result[1]));
    }

    public async Task<LeaseOutcome> CompleteAsync(string id, string token, string result, ReadOnlyMemory<byte> output, string outputContentType)
    {
        var queue = options.CurrentValue;
        var reply = (RedisResult[])(await CompleteScript.EvaluateAsync(
            redis.GetDatabase(),
            [
                QueueKeys.State, QueueKeys.Job(id), QueueKeys.Processing, QueueKeys.TenantActive, QueueKeys.Stats,
                QueueKeys.RecentDurations, QueueKeys.SucceededRecently, QueueKeys.Audio(id), QueueKeys.Output(id),
            ],
            [
                clock.ScriptArgument(), id, token, result, output, outputContentType,
                (long)queue.Retention.TotalSeconds, (long)queue.OutputRetention.TotalSeconds, AverageWeight,
            ]))!;
        switch ((string)reply[0]!)
        {
            case "repeat":
                return new LeaseOutcome(true, JobStatus.Succeeded); // a retried call: the first one did it
            case "stale":
                return new LeaseOutcome(false, JobStore.StateOf(reply[1]));
        }
        var processingTime = TimeSpan.FromMilliseconds((long)reply[1]);
        metrics.Finished(JobStatus.Succeeded, processingTime);
        await events.PublishAsync(id);
        return new LeaseOutcome(true, JobStatus.Succeeded, ProcessingTime: processingTime);
    }

    /// <summary>A retryable failure is queued again after a backoff (DEAD after MaxAttempts); otherwise FAILED.</summary>
    public Task<LeaseOutcome> FailAsync(string id, string token, string error, bool retryable) =>
        EndAttemptAsync(id, token, error, retryable ? "retry" : "fatal");

    /// <summary>Gives the job back untouched (the attempt does not count): a worker shutting down.</summary>
    public Task<LeaseOutcome> ReleaseAsync(string id, string token) =>
        EndAttemptAsync(id, token, "", "release");

    async Task<LeaseOutcome> EndAttemptAsync(string id, string token, string error, string mode)
    {
        var queue = options.CurrentValue;
        var reply = (RedisResult[])(await FailScript.EvaluateAsync(
            redis.GetDatabase(),
            [
                QueueKeys.State, QueueKeys.Job(id), QueueKeys.Processing, QueueKeys.TenantActive, QueueKeys.Ready,
                QueueKeys.Delayed, QueueKeys.Waiting, QueueKeys.TenantDepth, QueueKeys.PriorityDepth, QueueKeys.Dead,
                QueueKeys.FailedRecently, QueueKeys.Audio(id),
            ],
            [
                clock.ScriptArgument(), id, token, error, mode, JobStore.Micros(queue.RetryBaseDelay), queue.MaxAttempts,
                (long)queue.Retention.TotalSeconds, JobStore.Micros(queue.RetryMaxDelay), Random.Shared.NextDouble(),
            ]))!;
        if ((string)reply[0]! != "ok")
        {
            return new LeaseOutcome(false, JobStore.StateOf(reply[1]));
        }
        var state = JobStore.StateOf(reply[1])!.Value;
        metrics.Finished(state, null);
        await events.PublishAsync(id);
        var readyAt = (long)reply[2];
        return new LeaseOutcome(true, state, readyAt > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(readyAt) : null);
    }
}
