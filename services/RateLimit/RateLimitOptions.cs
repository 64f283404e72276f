namespace Platform.RateLimit;

/// <summary>Configuration section <c>RateLimit</c>: named policies, e.g. <c>RateLimit:Policies:chat:Limit</c>.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimit";

    /// <summary>Policies by name. Names are case-sensitive on the wire; configuration keys are not.</summary>
    public Dictionary<string, RateLimitPolicy> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public enum RateLimitAlgorithm
{
    FixedWindow,
}

public sealed class RateLimitPolicy
{
    public RateLimitAlgorithm Algorithm { get; set; } = RateLimitAlgorithm.FixedWindow;

    /// <summary>Units allowed per <see cref="Window"/>.</summary>
    public uint Limit { get; set; }

    /// <summary>Window length, e.g. <c>00:01:00</c>. At least 1 ms.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Why the policy cannot be used, or null when it is valid.</summary>
    public string? Problem() =>
        Limit == 0 ? "Limit must be at least 1"
        : Window < TimeSpan.FromMilliseconds(1) ? "Window must be at least 1 ms"
        : null;
}
