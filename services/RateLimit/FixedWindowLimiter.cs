using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.RateLimit;

public readonly record struct RateLimitDecision(bool Allowed, uint Limit, uint Remaining, TimeSpan ResetAfter, TimeSpan RetryAfter);

/// <summary>
/// Fixed-window limiting in Redis (the window opens with the first request of a key): one script call per decision, so every replica shares one exact
/// count per (policy, key) and no read-modify-write race can let an extra request through.
/// </summary>
public sealed class FixedWindowLimiter(IConnectionMultiplexer redis)
{
    static readonly RedisScript Script = RedisScript.FromResource(typeof(FixedWindowLimiter).Assembly, "fixed_window.lua");

    public async Task<RateLimitDecision> CheckAsync(string policyName, RateLimitPolicy policy, string key, uint cost)
    {
        var result = (RedisResult[])(await Script.EvaluateAsync(
            redis.GetDatabase(),
            [RedisKeys.For(policyName, key, $"fw:{(long)policy.Window.TotalMilliseconds}")],
            [policy.Limit, (long)policy.Window.TotalMilliseconds, cost]))!;

        return new RateLimitDecision(
            Allowed: (int)result[0] == 1,
            Limit: policy.Limit,
            Remaining: (uint)(long)result[1],
            ResetAfter: TimeSpan.FromMilliseconds((long)result[2]),
            RetryAfter: TimeSpan.FromMilliseconds((long)result[3]));
    }
}

/// <summary>Key layout: every key of one (policy, key) pair shares a hash tag, so it lives in one cluster slot.</summary>
public static class RedisKeys
{
    public static RedisKey For(string policy, string key, string kind) => $"rl:{{{policy}:{key}}}:{kind}";
}
