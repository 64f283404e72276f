using Microsoft.Extensions.Options;

namespace Platform.RateLimit;

/// <summary>Configuration section <c>RateLimit</c>, e.g. <c>RateLimit:Policies:chat:Limit</c>. Reloaded without restart.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimit";

    /// <summary>
    /// Policies by name. Names are exact (ordinal): "Chat" is not "chat", so a caller cannot multiply its
    /// limit by varying the case of the name.
    /// </summary>
    public Dictionary<string, RateLimitPolicy> Policies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How many RateLimit replicas share the load: FailureMode Local gives each limit / Replicas.</summary>
    public int Replicas { get; set; } = 1;

    /// <summary>Most (policy, key) pairs remembered as over their limit, answered without Redis until their reset.</summary>
    public int OverLimitCacheSize { get; set; } = 10_000;

    public EnvoyOptions Envoy { get; set; } = new();
}

public sealed class EnvoyOptions
{
    /// <summary>An envoyproxy/ratelimit YAML file, or a directory of them. Empty: Envoy's API answers OK with no limits.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>What Envoy's limits do when Redis is unreachable.</summary>
    public FailureMode FailureMode { get; set; } = FailureMode.Open;
}

public enum RateLimitAlgorithm { FixedWindow, SlidingWindow, TokenBucket, Concurrency }

public enum FailureMode { Open, Closed, Local }

public sealed class RateLimitPolicy
{
    public RateLimitAlgorithm Algorithm { get; set; } = RateLimitAlgorithm.FixedWindow;

    /// <summary>Units per <see cref="Window"/> (Concurrency: leases held at once).</summary>
    public uint Limit { get; set; }

    /// <summary>Window length, e.g. <c>00:01:00</c>. Not used by Concurrency.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>TokenBucket: the most units spent at once. Unset means <see cref="Limit"/>.</summary>
    public uint? Burst { get; set; }

    /// <summary>Decide and report, never deny.</summary>
    public bool Shadow { get; set; }

    /// <summary>What to do when Redis is unreachable.</summary>
    public FailureMode FailureMode { get; set; } = FailureMode.Open;

    /// <summary>The most units one request may cost: the burst for TokenBucket, else the limit.</summary>
    public uint Capacity => Algorithm == RateLimitAlgorithm.TokenBucket ? Burst ?? Limit : Limit;

    /// <summary>Why the policy cannot be used, or null when it is valid.</summary>
    public string? Problem() =>
        Limit == 0 ? "Limit must be at least 1"
        : Algorithm != RateLimitAlgorithm.Concurrency && Window < TimeSpan.FromMilliseconds(1) ? "Window must be at least 1 ms"
        : Window > TimeSpan.FromDays(366) ? "Window must be at most 366 days"
        : Burst == 0 ? "Burst must be at least 1"
        : null;
}

/// <summary>Refuses to start (or to reload) with a policy that cannot work, naming it and why.</summary>
public sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var problems = options.Policies
            .Select(p => (p.Key, Problem: p.Value.Problem()))
            .Where(p => p.Problem is not null)
            .Select(p => $"RateLimit:Policies:{p.Key}: {p.Problem}")
            .ToList();
        if (options.Replicas < 1)
        {
            problems.Add("RateLimit:Replicas must be at least 1");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
