using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace Platform.AudioQueue;

public enum JobPriority { Low = 1, Normal = 2, High = 3, Urgent = 4 }

public enum JobStatus { Queued, Processing, Succeeded, Failed, Cancelled, Dead }

/// <summary>A job as stored in its Redis hash.</summary>
public sealed record JobRecord(
    string Id, JobStatus State, JobPriority Priority, string Tenant, string ContentType, long AudioBytes,
    int Attempts, double Progress, string Result, string Error,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, DateTimeOffset? NextAttemptAt,
    DateTimeOffset? LeaseUntil, string Worker, string Token, IReadOnlyDictionary<string, string> Metadata)
{
    public bool IsFinal => State is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled or JobStatus.Dead;

    /// <summary>Reads a job from HGETALL's flat field/value list; null when the list is empty (no such job).</summary>
    public static JobRecord? Parse(RedisResult flatFields)
    {
        var flat = (RedisResult[])flatFields!;
        if (flat.Length == 0)
        {
            return null;
        }
        var fields = new Dictionary<string, string>(flat.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i < flat.Length; i += 2)
        {
            fields[(string)flat[i]!] = (string)flat[i + 1]!;
        }
        return new JobRecord(
            Id: fields["id"],
            State: Enum.Parse<JobStatus>(fields["state"], ignoreCase: true),
            Priority: (JobPriority)int.Parse(fields["priority"], CultureInfo.InvariantCulture),
            Tenant: fields["tenant"],
            ContentType: fields["content_type"],
            AudioBytes: long.Parse(fields["audio_bytes"], CultureInfo.InvariantCulture),
            Attempts: int.Parse(fields["attempts"], CultureInfo.InvariantCulture),
            Progress: double.Parse(fields["progress"], CultureInfo.InvariantCulture),
            Result: fields.GetValueOrDefault("result", ""),
            Error: fields.GetValueOrDefault("error", ""),
            CreatedAt: FromUnixMs(fields["created_ms"])!.Value,
            StartedAt: FromUnixMs(fields.GetValueOrDefault("started_ms")),
            FinishedAt: FromUnixMs(fields.GetValueOrDefault("finished_ms")),
            NextAttemptAt: FromUnixMs(fields.GetValueOrDefault("next_attempt_ms")),
            LeaseUntil: FromUnixMs(fields.GetValueOrDefault("lease_until_ms")),
            Worker: fields.GetValueOrDefault("worker", ""),
            Token: fields.GetValueOrDefault("token", ""),
            Metadata: JsonSerializer.Deserialize<Dictionary<string, string>>(fields["metadata"]) ?? []);
    }

    public static DateTimeOffset? FromUnixMs(string? ms) =>
        string.IsNullOrEmpty(ms) ? null : DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture));
}

/// <summary>What a wait estimate needs to know about the queue right now.</summary>
public readonly record struct QueueLoad(long Processing, int MaxConcurrency, TimeSpan AverageProcessingTime)
{
    /// <summary>Reads the script replies: processing count, max_concurrency and average_ms (nil = the configured defaults).</summary>
    public static QueueLoad From(RedisResult processing, RedisResult concurrency, RedisResult averageMs, AudioQueueOptions defaults) =>
        From((long)processing, (string?)concurrency, (string?)averageMs, defaults);

    /// <summary>The state hash's max_concurrency and the stats hash's average_ms, as stored (null: the configured defaults).</summary>
    public static QueueLoad From(long processing, string? concurrency, string? averageMs, AudioQueueOptions defaults) => new(
        processing,
        concurrency is null ? defaults.MaxConcurrency : int.Parse(concurrency, CultureInfo.InvariantCulture),
        averageMs is null ? defaults.TypicalJobDuration : TimeSpan.FromMilliseconds(double.Parse(averageMs, CultureInfo.InvariantCulture)));
}
