namespace Platform.Cache;

/// <summary>Configuration section <c>Cache</c>: the limits every request is checked against.</summary>
public sealed class CacheOptions
{
    public const string SectionName = "Cache";

    public int MaxKeyBytes { get; set; } = 1024;
    public int MaxValueBytes { get; set; } = 1024 * 1024;
    public TimeSpan MinTtl { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromDays(7);
}
