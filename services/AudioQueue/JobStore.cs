using System.Text.Json;
using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.AudioQueue;

public enum JobPriority { Low = 1, Normal = 2, High = 3, Urgent = 4 }

public sealed record NewJob(
    ReadOnlyMemory<byte> Audio, string ContentType, JobPriority Priority, string Tenant,
    string? IdempotencyKey, IReadOnlyDictionary<string, string> Metadata);

public readonly record struct EnqueueResult(string JobId, long JobsAhead, bool Duplicate);

public sealed record StoredJob(
    string Id, string State, JobPriority Priority, string Tenant, string ContentType, long AudioBytes,
    int Attempts, double Progress, string Result, string Error,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    Dictionary<string, string> Metadata, long JobsAhead);

/// <summary>
/// Jobs in Redis. Every key of the queue carries the hash tag <c>{audio}</c>, so each script touches
/// one cluster slot; every state change is one script, so no reader sees a half-written job.
/// </summary>
public sealed class JobStore(IConnectionMultiplexer redis, Microsoft.Extensions.Options.IOptionsMonitor<AudioQueueOptions> options)
{
    static readonly RedisScript EnqueueScript = RedisScript.FromResource(typeof(JobStore).Assembly, "enqueue.lua");
    static readonly RedisScript GetJobScript = RedisScript.FromResource(typeof(JobStore).Assembly, "get_job.lua");

    const string Prefix = "aq:{audio}:";
    static readonly RedisKey Queued = Prefix + "queued";
    static readonly RedisKey Sequence = Prefix + "seq";
    static RedisKey JobKey(string id) => Prefix + "job:" + id;
    static RedisKey AudioKey(string id) => Prefix + "audio:" + id;
    static RedisKey IdempotencyKey(string key) => Prefix + "idem:" + key;

    public async Task<EnqueueResult> EnqueueAsync(NewJob job)
    {
        var id = Guid.CreateVersion7().ToString();
        var useIdempotency = !string.IsNullOrEmpty(job.IdempotencyKey);
        var result = (RedisResult[])(await EnqueueScript.EvaluateAsync(
            redis.GetDatabase(),
            [JobKey(id), AudioKey(id), Queued, Sequence, IdempotencyKey(job.IdempotencyKey ?? "")],
            [
                id, (int)job.Priority, job.Tenant, job.ContentType, job.Audio,
                JsonSerializer.Serialize(job.Metadata), useIdempotency ? 1 : 0,
                (long)options.CurrentValue.IdempotencyWindow.TotalSeconds,
            ]))!;
        return new EnqueueResult((string)result[0]!, (long)result[1], (int)result[2] == 1);
    }

    public async Task<StoredJob?> GetAsync(string id)
    {
        var result = (RedisResult[])(await GetJobScript.EvaluateAsync(redis.GetDatabase(), [JobKey(id), Queued], [id]))!;
        var flat = (RedisResult[])result[0]!;
        if (flat.Length == 0)
        {
            return null;
        }
        var fields = new Dictionary<string, string>(flat.Length / 2);
        for (var i = 0; i < flat.Length; i += 2)
        {
            fields[(string)flat[i]!] = (string)flat[i + 1]!;
        }
        return new StoredJob(
            Id: id,
            State: fields["state"],
            Priority: (JobPriority)int.Parse(fields["priority"]),
            Tenant: fields["tenant"],
            ContentType: fields["content_type"],
            AudioBytes: long.Parse(fields["audio_bytes"]),
            Attempts: int.Parse(fields["attempts"]),
            Progress: double.Parse(fields["progress"], System.Globalization.CultureInfo.InvariantCulture),
            Result: fields.GetValueOrDefault("result", ""),
            Error: fields.GetValueOrDefault("error", ""),
            CreatedAt: FromUnixMs(fields["created_ms"])!.Value,
            StartedAt: FromUnixMs(fields.GetValueOrDefault("started_ms")),
            FinishedAt: FromUnixMs(fields.GetValueOrDefault("finished_ms")),
            Metadata: JsonSerializer.Deserialize<Dictionary<string, string>>(fields["metadata"]) ?? [],
            JobsAhead: (long)result[1]);
    }

    static DateTimeOffset? FromUnixMs(string? ms) => ms is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms));
}
