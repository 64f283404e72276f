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
        using var activity = RateLimitMetrics.Tracing.StartActivity("ratelimit.decide");
        activity?.SetTag("ratelimit.policy", checks[0].PolicyName);
        activity?.SetTag("ratelimit.checks", checks.Count);

        var results = new Decision[checks.Count];
        var pending = new List<int>(checks.Count);
        for (var i = 0; i < checks.Count; i++)
        {
            // All-or-nothing needs every key decided together in Redis, so the cache only answers alone.
            if (!allOrNothing && overLimit.TryGet(checks[i], out results[i]))
            {
                metrics.LocalCacheHit(checks[i].PolicyName);
                continue;
            }
            pending.Add(i);
        }

        if (pending.Count > 0)
        {
            var fromRedis = await DecideInRedisAsync(pending.Select(i => checks[i]).ToList(), allOrNothing);
            for (var j = 0; j < pending.Count; j++)
            {
                results[pending[j]] = fromRedis[j];
                overLimit.Remember(checks[pending[j]], fromRedis[j]);
            }
        }

        for (var i = 0; i < checks.Count; i++)
        {
            metrics.Decided(checks[i].PolicyName, results[i]);
        }
        var allowed = results.All(r => r.Allowed);
        activity?.SetTag("ratelimit.allowed", allowed);
        return new Decisions(allowed, results);
    }

    async Task<Decision[]> DecideInRedisAsync(IReadOnlyList<LimitCheck> checks, bool allOrNothing)
    {
        if (redis.IsConnected)
        {
            var started = time.GetTimestamp();
            try
            {
                var decisions = await redisLimiter.DecideAsync(checks, allOrNothing);
                metrics.RedisRoundTrip(time.GetElapsedTime(started));
                return decisions.Results;
            }
            catch (Exception e) when (RedisFailures.IsUnavailable(e))
            {
                LogDegraded(checks[0].PolicyName, e.Message);
            }
        }
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
