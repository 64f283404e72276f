using System.Diagnostics;
using System.Diagnostics.Metrics;
using Platform.ServiceDefaults;

namespace Platform.RateLimit;

/// <summary>The platform.ratelimit.* instruments shown in the dashboard's Metrics page.</summary>
public sealed class RateLimitMetrics
{
    public const string MeterName = PlatformTelemetry.MeterPrefix + "ratelimit";

    readonly Counter<long> decisions;
    readonly Counter<long> localCacheHits;
    readonly Histogram<double> redisDuration;

    public RateLimitMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        decisions = meter.CreateCounter<long>("platform.ratelimit.decisions", "{decision}",
            "Rate-limit decisions by policy and outcome (allowed, denied, shadow_denied); degraded=true when Redis could not be asked.");
        localCacheHits = meter.CreateCounter<long>("platform.ratelimit.local_cache.hits", "{decision}",
            "Denials answered from the in-process over-limit cache, without a Redis round trip.");
        redisDuration = meter.CreateHistogram<double>("platform.ratelimit.redis.duration", "s",
            "Time of one Redis round trip deciding a Check or CheckMany.");
    }

    static readonly object True = true, False = false;

    public void Decided(string policy, Decision decision)
    {
        var outcome = decision.Allowed ? (decision.OverLimit ? "shadow_denied" : "allowed") : "denied";
        decisions.Add(1,
            new KeyValuePair<string, object?>("policy", policy),
            new KeyValuePair<string, object?>("outcome", outcome),
            new KeyValuePair<string, object?>("degraded", decision.Degraded ? True : False));
    }

    /// <summary>The decision on the request's span, when it is sampled (no tags are built otherwise).</summary>
    public static void Tag(Activity? request, IReadOnlyList<LimitCheck> checks, bool allowed)
    {
        if (request is { IsAllDataRequested: true })
        {
            request.SetTag("ratelimit.policy", checks[0].PolicyName);
            request.SetTag("ratelimit.checks", checks.Count);
            request.SetTag("ratelimit.allowed", allowed ? True : False);
        }
    }

    public void LocalCacheHit(string policy) => localCacheHits.Add(1, new KeyValuePair<string, object?>("policy", policy));

    public void RedisRoundTrip(TimeSpan elapsed) => redisDuration.Record(elapsed.TotalSeconds);
}
