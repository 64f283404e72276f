namespace Platform.Cache;

/// <summary>Configuration section <c>Cache</c>: request limits and the in-process layer.</summary>
public sealed class CacheOptions
{
    public const string SectionName = "Cache";

    public int MaxKeyBytes { get; set; } = 1024;
    public int MaxValueBytes { get; set; } = 1024 * 1024;
    public TimeSpan MinTtl { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromDays(7);
    public int MaxTags { get; set; } = 16;
    public int MaxTagBytes { get; set; } = 128;
    public int MaxBatch { get; set; } = 100;

    /// <summary>Bytes of values each replica keeps in process (L1); 0 turns L1 off.</summary>
    public long L1MaxBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most entries each replica keeps in process, however small.</summary>
    public int L1MaxEntries { get; set; } = 100_000;

    /// <summary>How long an entry is served from L1 before Redis is asked again (a safety net behind the backplane).</summary>
    public TimeSpan L1Ttl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How old a copy Get may return, flagged stale, while Redis is unreachable (0: never).</summary>
    public TimeSpan MaxStaleness { get; set; } = TimeSpan.FromMinutes(5);
}
