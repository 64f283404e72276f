using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Platform.RateLimit;

/// <summary>
/// Keys known to be over their limit, answered in-process until the moment Redis said they would pass
/// again (Envoy ratelimit's local cache): a client that keeps hammering costs no Redis round trip.
/// Bounded by RateLimit:OverLimitCacheSize. A Reset on any replica reaches this one through
/// <see cref="OverLimitResets"/>.
/// </summary>
public sealed class OverLimitCache(IOptions<RateLimitOptions> options, TimeProvider time) : IDisposable
{
    readonly MemoryCache entries = new(new MemoryCacheOptions { SizeLimit = options.Value.OverLimitCacheSize });

    /// <summary>The policy's values are kept so that an edited policy (hot reload) never meets a stale denial.</summary>
    sealed record Entry(DateTimeOffset PassesAt, uint Cost, Decision Decision, (RateLimitAlgorithm, uint, TimeSpan, uint) Policy);

    public bool TryGet(LimitCheck check, out Decision decision)
    {
        decision = default;
        if (check.Cost == 0 || entries.Count == 0 || !entries.TryGetValue(Key(check), out Entry? entry) || entry is null)
        {
            return false;
        }
        var wait = entry.PassesAt - time.GetUtcNow();
        // A cheaper request than the one denied may pass sooner: only as costly or costlier ones are answered here.
        if (wait <= TimeSpan.Zero || check.Cost < entry.Cost || entry.Policy != Values(check.Policy))
        {
            return false;
        }
        decision = entry.Decision with { RetryAfter = wait, ResetAfter = Max(wait, entry.Decision.ResetAfter - (entry.Decision.RetryAfter - wait)) };
        return true;
    }

    public void Remember(LimitCheck check, Decision decision)
    {
        if (decision.Allowed || decision.Degraded || check.Cost == 0 || decision.RetryAfter <= TimeSpan.Zero)
        {
            return;
        }
        var passesAt = time.GetUtcNow() + decision.RetryAfter;
        entries.Set(Key(check), new Entry(passesAt, check.Cost, decision, Values(check.Policy)), new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpiration = passesAt,
        });
    }

    public void Forget(string policyName, string key) => entries.Remove((policyName, key));

    static (string, string) Key(LimitCheck check) => (check.PolicyName, check.Key);

    static (RateLimitAlgorithm, uint, TimeSpan, uint) Values(RateLimitPolicy policy) => (policy.Algorithm, policy.Limit, policy.Window, policy.Capacity);

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public void Dispose() => entries.Dispose();
}
