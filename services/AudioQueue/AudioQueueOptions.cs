namespace Platform.AudioQueue;

/// <summary>Configuration section <c>AudioQueue</c>.</summary>
public sealed class AudioQueueOptions
{
    public const string SectionName = "AudioQueue";

    /// <summary>Largest audio accepted by Enqueue (default 10 MiB).</summary>
    public int MaxAudioBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Jobs processed at once across all workers; the wait estimate divides by it.</summary>
    public int MaxConcurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>Typical processing time of one job, used for wait estimates.</summary>
    public TimeSpan TypicalJobDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an idempotency key maps to its first job.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);
}
