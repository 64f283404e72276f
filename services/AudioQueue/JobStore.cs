using System.Text.Json;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.AudioQueue;

public sealed record NewJob(
    ReadOnlyMemory<byte> Audio, string ContentType, JobPriority Priority, string Tenant,
    string? IdempotencyKey, IReadOnlyDictionary<string, string> Metadata);

public enum EnqueueOutcome { Queued, Duplicate, QueueFull, TenantFull }

/// <param name="JobsAhead">Ready jobs ahead of this one; -1 when it is not waiting (a duplicate already running).</param>
/// <param name="Depth">Jobs waiting in the whole queue after this call.</param>
public readonly record struct EnqueueResult(EnqueueOutcome Outcome, string JobId, long JobsAhead, QueueLoad Load, long Depth)
{
    public TimeSpan EstimatedWait => WaitTimeEstimator.Estimate(Math.Max(0, JobsAhead), Load);
}

/// <summary>A job with its place in the queue, read in one consistent snapshot.</summary>
public sealed record JobView(JobRecord Job, long JobsAhead, QueueLoad Load)
{
    public TimeSpan? EstimatedWait => JobsAhead >= 0 ? WaitTimeEstimator.Estimate(JobsAhead, Load) : null;
}

/// <summary>The producer side of the queue: enqueue, read, cancel. Every change is one script.</summary>
public sealed class JobStore(IConnectionMultiplexer redis, IOptionsMonitor<AudioQueueOptions> options, QueueClock clock, QueueEvents events)
{
    static readonly RedisScript EnqueueScript = RedisScript.FromResource(typeof(JobStore).Assembly, "enqueue.lua");
    static readonly RedisScript GetJobScript = RedisScript.FromResource(typeof(JobStore).Assembly, "get_job.lua");
    static readonly RedisScript CancelScript = RedisScript.FromResource(typeof(JobStore).Assembly, "cancel.lua");

    public async Task<EnqueueResult> EnqueueAsync(NewJob job)
    {
        var queue = options.CurrentValue;
        var id = Guid.CreateVersion7().ToString();
        var result = (RedisResult[])(await EnqueueScript.EvaluateAsync(
            redis.GetDatabase(),
            [
                QueueKeys.State, QueueKeys.Job(id), QueueKeys.Audio(id), QueueKeys.Ready, QueueKeys.Waiting,
                QueueKeys.Idempotency(job.Tenant, job.IdempotencyKey ?? ""), QueueKeys.FairnessCursors, QueueKeys.TenantDepth,
                QueueKeys.PriorityDepth, QueueKeys.Stats, QueueKeys.Processing,
            ],
            [
                id, (int)job.Priority, job.Tenant, job.ContentType, job.Audio, JsonSerializer.Serialize(job.Metadata),
                string.IsNullOrEmpty(job.IdempotencyKey) ? 0 : (long)queue.IdempotencyWindow.TotalSeconds,
                clock.ScriptArgument(), Micros(queue.AgingStep), (long)queue.TypicalJobDuration.TotalMilliseconds,
                queue.MaxConcurrency, queue.MaxDepth, queue.MaxDepthPerTenant, queue.WeightOf(job.Tenant),
            ]))!;
        var outcome = (string)result[0]! switch
        {
            "queued" => EnqueueOutcome.Queued,
            "duplicate" => EnqueueOutcome.Duplicate,
            "queue_full" => EnqueueOutcome.QueueFull,
            _ => EnqueueOutcome.TenantFull,
        };
        if (outcome == EnqueueOutcome.Queued)
        {
            await events.PublishAsync(id);
        }
        return new EnqueueResult(outcome, (string)result[1]!, (long)result[2], QueueLoad.From(result[3], result[4], result[5], queue), (long)result[6]);
    }

    public async Task<JobView?> GetAsync(string id)
    {
        var result = (RedisResult[])(await GetJobScript.EvaluateAsync(
            redis.GetDatabase(), [QueueKeys.State, QueueKeys.Job(id), QueueKeys.Ready, QueueKeys.Processing, QueueKeys.Stats], [id]))!;
        return JobRecord.Parse(result[0]) is { } job
            ? new JobView(job, (long)result[1], QueueLoad.From(result[2], result[3], result[4], options.CurrentValue))
            : null;
    }

    /// <returns>Whether it was cancelled; if not, the state that prevented it (null: no such job).</returns>
    public async Task<(bool Cancelled, JobStatus? State)> CancelAsync(string id, string reason)
    {
        var result = (RedisResult[])(await CancelScript.EvaluateAsync(
            redis.GetDatabase(),
            [
                QueueKeys.State, QueueKeys.Job(id), QueueKeys.Ready, QueueKeys.Delayed, QueueKeys.Processing, QueueKeys.Waiting,
                QueueKeys.TenantDepth, QueueKeys.PriorityDepth, QueueKeys.TenantActive, QueueKeys.Audio(id), QueueKeys.FairnessCursors,
            ],
            [clock.ScriptArgument(), id, reason, (long)options.CurrentValue.Retention.TotalSeconds]))!;
        if ((string)result[0]! == "ok")
        {
            await events.PublishAsync(id);
            return (true, JobStatus.Cancelled);
        }
        return (false, StateOf(result[1]));
    }

    /// <summary>The processed audio a worker attached to the job, if any is left.</summary>
    public async Task<(string ContentType, byte[] Audio)?> GetOutputAsync(string id)
    {
        var output = await redis.GetDatabase().HashGetAsync(QueueKeys.Output(id), ["type", "audio"]);
        return output is [{ HasValue: true } type, { HasValue: true } audio] ? ((string)type!, (byte[])audio!) : null;
    }

    public static JobStatus? StateOf(RedisResult state) =>
        state.IsNull ? null : Enum.Parse<JobStatus>((string)state!, ignoreCase: true);

    public static long Micros(TimeSpan span) => span.Ticks / 10;
}
