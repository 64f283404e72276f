using StackExchange.Redis;

namespace Platform.AudioQueue;

/// <summary>
/// The queue's Redis keys. All carry the hash tag <c>{audio}</c>, so every script touches one cluster
/// slot, and every script declares <see cref="State"/>, so scripts on one queue never interleave (Garnet
/// locks declared keys; Redis runs scripts one at a time anyway).
/// </summary>
/// <remarks>
/// lease.lua also reaches job and audio keys it cannot declare: it learns the ids inside the script, and
/// builds the keys from <see cref="JobPrefix"/> and <see cref="AudioPrefix"/>. Redis Cluster runs such a
/// script only because those keys live in the slot of its declared keys, on the same node: keep the tag
/// in every prefix (tests/Platform.Tests/ClusterKeySlotTests checks it on a real cluster). The whole queue
/// is therefore one slot, on one primary: a cluster spreads RateLimit and Cache, not the queue.
/// </remarks>
public static class QueueKeys
{
    public const string Prefix = "aq:{audio}:";
    public const string JobPrefix = Prefix + "job:";
    public const string AudioPrefix = Prefix + "audio:";

    /// <summary>Hash: paused, max_concurrency.</summary>
    public static readonly RedisKey State = Prefix + "state";
    /// <summary>Sorted set of jobs a worker can lease now, by schedule score (priority, aging, fairness).</summary>
    public static readonly RedisKey Ready = Prefix + "ready";
    /// <summary>Sorted set of jobs in retry backoff, by the time they become ready (µs).</summary>
    public static readonly RedisKey Delayed = Prefix + "delayed";
    /// <summary>Sorted set of leased jobs, by lease deadline (µs).</summary>
    public static readonly RedisKey Processing = Prefix + "processing";
    /// <summary>Sorted set of every waiting job (ready or delayed), by when it started waiting (ms).</summary>
    public static readonly RedisKey Waiting = Prefix + "waiting";
    /// <summary>Sorted set of DEAD jobs, by when they died (ms).</summary>
    public static readonly RedisKey Dead = Prefix + "dead";
    /// <summary>Hash: tenant|priority → the tenant's next fair start (µs).</summary>
    public static readonly RedisKey FairnessCursors = Prefix + "cursors";
    /// <summary>Hash: tenant → waiting jobs.</summary>
    public static readonly RedisKey TenantDepth = Prefix + "tenant-depth";
    /// <summary>Hash: priority (1-4) → waiting jobs.</summary>
    public static readonly RedisKey PriorityDepth = Prefix + "priority-depth";
    /// <summary>Hash: tenant → jobs processing.</summary>
    public static readonly RedisKey TenantActive = Prefix + "tenant-active";
    /// <summary>Hash: average_ms (moving average of processing time).</summary>
    public static readonly RedisKey Stats = Prefix + "stats";
    /// <summary>List of the latest processing times (ms), newest first.</summary>
    public static readonly RedisKey RecentDurations = Prefix + "durations";
    /// <summary>Sorted sets of jobs finished in the last minute, by finish time (ms).</summary>
    public static readonly RedisKey SucceededRecently = Prefix + "succeeded-recently";
    public static readonly RedisKey FailedRecently = Prefix + "failed-recently";

    public static readonly RedisChannel Events = RedisChannel.Literal(Prefix + "events");

    public static RedisKey Job(string id) => JobPrefix + id;
    public static RedisKey Audio(string id) => AudioPrefix + id;
    /// <summary>Hash: type, audio — a job's processed audio, kept for OutputRetention.</summary>
    public static RedisKey Output(string id) => Prefix + "output:" + id;
    /// <summary>Idempotency keys are per tenant: two tenants' equal keys name two jobs.</summary>
    public static RedisKey Idempotency(string tenant, string key) => Prefix + "idem:" + tenant + "\n" + key;
}
