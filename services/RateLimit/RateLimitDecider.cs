using System.Diagnostics;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Health;
using StackExchange.Redis;

namespace Platform.RateLimit;

/// <summary>
/// Every decision goes through here, whichever API asked: the over-limit cache first, then Redis; when
/// Redis cannot be reached, each policy's FailureMode decides and the result is marked degraded.
/// </summary>
public sealed partial class RateLimitDecider(
    RedisRateLimiter redisLimiter,
    IConnectionMultiplexer redis,
    OverLimitCache overLimit,
    LocalFallbackLimiter local,
    RateLimitMetrics metrics,
    TimeProvider time,
    DegradedDecisions degraded,
    OverLimitResets resets,
    ILogger<RateLimitDecider> logger)
{
    public async Task<Decisions> DecideAsync(IReadOnlyList<LimitCheck> checks, bool allOrNothing)
    {
        // All-or-nothing needs every key decided together in Redis, so the cache only answers alone.
        // Usually it answers none of them, and the checks go to Redis as they came.
        var fromCache = allOrNothing ? null : FromOverLimitCache(checks);
        var toRedis = fromCache is { Pending: var pending } ? Pick(checks, pending) : checks;
        Decision[]? fromRedis = null;
        if (toRedis.Count > 0 && redis.IsConnected)
        {
            var started = time.GetTimestamp();
            try
            {
                fromRedis = (await redisLimiter.DecideAsync(toRedis, allOrNothing)).Results;
                metrics.RedisRoundTrip(time.GetElapsedTime(started));
            }
            catch (Exception e) when (RedisFailures.IsUnavailable(e))
            {
                LogDegraded(toRedis[0].PolicyName, e.Message);
            }
        }
        fromRedis ??= toRedis.Count > 0 ? DecideWithoutRedis(toRedis, allOrNothing) : [];

        var results = fromRedis;
        if (fromCache is { } cached)
        {
            results = cached.Results;
            for (var j = 0; j < cached.Pending.Length; j++)
            {
                results[cached.Pending[j]] = fromRedis[j];
            }
        }
        var allowed = true;
        for (var i = 0; i < checks.Count; i++)
        {
            overLimit.Remember(checks[i], results[i]);
            metrics.Decided(checks[i].PolicyName, results[i]);
            allowed &= results[i].Allowed;
        }
        RateLimitMetrics.Tag(Activity.Current, checks, allowed);
        return new Decisions(allowed, results);
    }

    /// <remarks>A loop, not a lambda: a lambda capturing <paramref name="checks"/> would cost every call a closure.</remarks>
    static LimitCheck[] Pick(IReadOnlyList<LimitCheck> checks, int[] indices)
    {
        var picked = new LimitCheck[indices.Length];
        for (var j = 0; j < indices.Length; j++)
        {
            picked[j] = checks[indices[j]];
        }
        return picked;
    }

    /// <returns>Null when the over-limit cache answers none of the checks; else its answers, and the checks left for Redis.</returns>
    (Decision[] Results, int[] Pending)? FromOverLimitCache(IReadOnlyList<LimitCheck> checks)
    {
        Decision[]? results = null;
        List<int>? pending = null;
        for (var i = 0; i < checks.Count; i++)
        {
            if (overLimit.TryGet(checks[i], out var decision))
            {
                metrics.LocalCacheHit(checks[i].PolicyName);
                results ??= new Decision[checks.Count];
                results[i] = decision;
                pending ??= [.. Enumerable.Range(0, i)];
            }
            else
            {
                pending?.Add(i);
            }
        }
        return results is null ? null : (results, pending!.ToArray());
    }

    /// <summary>Each policy's FailureMode decides, and the decisions are marked degraded.</summary>
    Decision[] DecideWithoutRedis(IReadOnlyList<LimitCheck> checks, bool allOrNothing)
    {
        var fallback = checks.Select(Fallback).ToArray();
        degraded.Record(fallback.Length);
        if (allOrNothing && fallback.Any(d => !d.Allowed))
        {
            // Local limiters cannot be rolled back; deny the whole set as Redis would have.
            fallback = fallback.Select(d => d with { Allowed = false }).ToArray();
        }
        return fallback;
    }

    Decision Fallback(LimitCheck check) => check.Policy.FailureMode switch
    {
        FailureMode.Open => new Decision(true, false, check.Policy.Capacity, 0, TimeSpan.Zero, TimeSpan.Zero, Degraded: true),
        FailureMode.Closed => new Decision(check.Policy.Shadow, true, check.Policy.Capacity, 0, TimeSpan.Zero, TimeSpan.FromSeconds(1), Degraded: true),
        _ => local.Check(check),
    };

    public async Task<LeaseGrant> AcquireAsync(string policyName, RateLimitPolicy policy, string key, TimeSpan leaseTtl)
    {
        if (redis.IsConnected)
        {
            try
            {
                return await redisLimiter.AcquireAsync(policyName, policy, key, leaseTtl);
            }
            catch (Exception e) when (RedisFailures.IsUnavailable(e))
            {
                LogDegraded(policyName, e.Message);
            }
        }
        degraded.Record();
        return policy.FailureMode switch
        {
            FailureMode.Open => new LeaseGrant(true, "local-open-" + Guid.NewGuid().ToString("N"), policy.Limit, 0, TimeSpan.Zero, Degraded: true),
            FailureMode.Closed => new LeaseGrant(false, "", policy.Limit, 0, TimeSpan.FromSeconds(1), Degraded: true),
            _ => local.Acquire(policyName, policy, key, leaseTtl),
        };
    }

    public async Task<bool> ReleaseAsync(string policyName, string key, string leaseId) =>
        LocalFallbackLimiter.IsLocalLease(leaseId)
            ? local.Release(leaseId)
            : await redisLimiter.ReleaseAsync(policyName, key, leaseId);

    public async Task ResetAsync(string policyName, string key)
    {
        await redisLimiter.ResetAsync(policyName, key);
        overLimit.Forget(policyName, key);
        await resets.PublishAsync(policyName, key); // and on every other replica
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unreachable deciding policy {Policy}; its FailureMode decides ({Reason})")]
    partial void LogDegraded(string policy, string reason);
}
