using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Platform.RateLimit;

/// <summary>
/// FailureMode Local: while Redis is unreachable, each replica limits on its own with
/// System.Threading.RateLimiting, sized at limit / replicas so the fleet stays near the real limit.
/// </summary>
public sealed class LocalFallbackLimiter : IDisposable
{
    // Keyed by the policy's values, not the object: Envoy's limits build a policy per request.
    readonly ConcurrentDictionary<(string Policy, RateLimitAlgorithm Algorithm, uint Limit, TimeSpan Window, uint Capacity), PartitionedRateLimiter<string>> limiters = new();
    readonly ConcurrentDictionary<string, (RateLimitLease Lease, DateTimeOffset ExpiresAt)> leases = new();
    readonly IOptionsMonitor<RateLimitOptions> options;
    readonly TimeProvider time;
    readonly IDisposable? subscription;

    public LocalFallbackLimiter(IOptionsMonitor<RateLimitOptions> options, TimeProvider time)
    {
        this.options = options;
        this.time = time;
        // Edited policies get fresh limiters; the old ones are dropped with their state.
        subscription = options.OnChange(_ => Clear());
    }

    public Decision Check(LimitCheck check)
    {
        var limiter = Limiter(check.PolicyName, check.Policy);
        if (check.Cost > Share(check.Policy, options.CurrentValue.Replicas))
        {
            // More than this replica's whole share: it can never pass here (the limiter would throw).
            return new Decision(check.Policy.Shadow, true, check.Policy.Capacity, 0, TimeSpan.Zero, TimeSpan.Zero, Degraded: true);
        }
        using var lease = limiter.AttemptAcquire(check.Key, (int)check.Cost);
        var retryAfter = !lease.IsAcquired && lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.Zero;
        var allowed = lease.IsAcquired || check.Policy.Shadow;
        return new Decision(allowed, !lease.IsAcquired, check.Policy.Capacity, 0, TimeSpan.Zero, retryAfter, Degraded: true);
    }

    public LeaseGrant Acquire(string policyName, RateLimitPolicy policy, string key, TimeSpan leaseTtl)
    {
        ReleaseExpired();
        var lease = Limiter(policyName, policy).AttemptAcquire(key);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return new LeaseGrant(false, "", policy.Limit, 0, TimeSpan.Zero, Degraded: true);
        }
        var id = "local-" + Guid.NewGuid().ToString("N");
        leases[id] = (lease, time.GetUtcNow() + leaseTtl);
        return new LeaseGrant(true, id, policy.Limit, 0, TimeSpan.Zero, Degraded: true);
    }

    /// <summary>A degraded lease that is never released still frees its permit after its ttl.</summary>
    void ReleaseExpired()
    {
        var now = time.GetUtcNow();
        foreach (var (id, held) in leases)
        {
            if (held.ExpiresAt <= now && leases.TryRemove(id, out _))
            {
                held.Lease.Dispose();
            }
        }
    }

    /// <summary>Releases a lease granted while degraded; false for any other id.</summary>
    public bool Release(string leaseId)
    {
        if (!leases.TryRemove(leaseId, out var held))
        {
            return false;
        }
        held.Lease.Dispose();
        return held.ExpiresAt > time.GetUtcNow();
    }

    public static bool IsLocalLease(string leaseId) => leaseId.StartsWith("local-", StringComparison.Ordinal);

    PartitionedRateLimiter<string> Limiter(string policyName, RateLimitPolicy policy) =>
        limiters.GetOrAdd((policyName, policy.Algorithm, policy.Limit, policy.Window, policy.Capacity),
            _ => Create(policy, Math.Max(1, options.CurrentValue.Replicas)));

    /// <summary>The most units one replica admits at once: its share of the limit (or of the burst).</summary>
    static long Share(RateLimitPolicy policy, int replicas) => Math.Max(1, policy.Capacity / Math.Max(1, replicas));

    static PartitionedRateLimiter<string> Create(RateLimitPolicy policy, int replicas)
    {
        var share = (int)Math.Min(int.MaxValue, Math.Max(1, policy.Limit / replicas));
        return PartitionedRateLimiter.Create<string, string>(key => policy.Algorithm switch
        {
            RateLimitAlgorithm.FixedWindow => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = share, Window = policy.Window, QueueLimit = 0,
            }),
            RateLimitAlgorithm.SlidingWindow => RateLimitPartition.GetSlidingWindowLimiter(key, _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = share, Window = policy.Window, SegmentsPerWindow = 10, QueueLimit = 0,
            }),
            RateLimitAlgorithm.TokenBucket => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = (int)Math.Min(int.MaxValue, Share(policy, replicas)),
                TokensPerPeriod = 1,
                ReplenishmentPeriod = policy.Window * replicas / policy.Limit,
                QueueLimit = 0,
            }),
            _ => RateLimitPartition.GetConcurrencyLimiter(key, _ => new ConcurrencyLimiterOptions { PermitLimit = share, QueueLimit = 0 }),
        });
    }

    void Clear()
    {
        foreach (var key in limiters.Keys)
        {
            if (limiters.TryRemove(key, out var limiter))
            {
                limiter.Dispose();
            }
        }
    }

    public void Dispose()
    {
        subscription?.Dispose();
        Clear();
    }
}
