using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.RateLimit;

/// <summary>One check: <paramref name="Cost"/> units of (policy, key).</summary>
public readonly record struct LimitCheck(string PolicyName, RateLimitPolicy Policy, string Key, uint Cost);

/// <summary>The outcome of one check; see platform.ratelimit.v1.CheckResponse for each field.</summary>
public readonly record struct Decision(
    bool Allowed, bool OverLimit, uint Limit, uint Remaining, TimeSpan ResetAfter, TimeSpan RetryAfter, bool Degraded);

public readonly record struct Decisions(bool Allowed, Decision[] Results);

public readonly record struct LeaseGrant(bool Allowed, string LeaseId, uint Limit, uint Remaining, TimeSpan RetryAfter, bool Degraded);

/// <summary>
/// The rate-limit algorithms, each a Lua script run atomically in Redis: one round trip per Check or
/// CheckMany, on the server's clock, so every replica shares one exact count.
/// </summary>
/// <param name="clockOverride">Tests pass a fake clock; null (production) uses the Redis server's clock.</param>
public sealed class RedisRateLimiter(IConnectionMultiplexer redis, TimeProvider? clockOverride = null)
{
    static readonly RedisScript Decide = RedisScript.FromResource(typeof(RedisRateLimiter).Assembly, "decide.lua");
    static readonly RedisScript Acquire = RedisScript.FromResource(typeof(RedisRateLimiter).Assembly, "acquire.lua");
    static readonly RedisScript Release = RedisScript.FromResource(typeof(RedisRateLimiter).Assembly, "release.lua");

    public async Task<Decisions> DecideAsync(IReadOnlyList<LimitCheck> checks, bool allOrNothing)
    {
        var keys = new RedisKey[checks.Count];
        var args = new RedisValue[2 + checks.Count * 6];
        args[0] = Now();
        args[1] = allOrNothing ? 1 : 0;
        for (var i = 0; i < checks.Count; i++)
        {
            var (name, policy, key, cost) = checks[i];
            keys[i] = StateKey(name, key, policy.Algorithm);
            var a = 2 + i * 6;
            args[a] = policy.Algorithm switch
            {
                RateLimitAlgorithm.FixedWindow => 1,
                RateLimitAlgorithm.SlidingWindow => 2,
                RateLimitAlgorithm.TokenBucket => 3,
                _ => throw new ArgumentException($"{policy.Algorithm} is not decided by Check", nameof(checks)),
            };
            args[a + 1] = policy.Limit;
            args[a + 2] = Micros(policy.Window);
            args[a + 3] = policy.Capacity;
            args[a + 4] = cost;
            args[a + 5] = policy.Shadow ? 1 : 0;
        }

        var reply = (RedisResult[])(await Decide.EvaluateAsync(redis.GetDatabase(), keys, args))!;
        var results = new Decision[checks.Count];
        for (var i = 0; i < checks.Count; i++)
        {
            var r = 1 + i * 5;
            results[i] = new Decision(
                Allowed: (long)reply[r] == 1,
                OverLimit: (long)reply[r + 4] == 1,
                Limit: checks[i].Policy.Capacity,
                Remaining: (uint)Math.Min((long)reply[r + 1], uint.MaxValue),
                ResetAfter: FromMicros((long)reply[r + 2]),
                RetryAfter: FromMicros((long)reply[r + 3]),
                Degraded: false);
        }
        return new Decisions((long)reply[0] == 1, results);
    }

    public async Task<LeaseGrant> AcquireAsync(string policyName, RateLimitPolicy policy, string key, TimeSpan leaseTtl)
    {
        var leaseId = Guid.NewGuid().ToString("N");
        var reply = (RedisResult[])(await Acquire.EvaluateAsync(redis.GetDatabase(),
            [StateKey(policyName, key, RateLimitAlgorithm.Concurrency)],
            [Now(), policy.Limit, Micros(leaseTtl), leaseId]))!;
        var allowed = (long)reply[0] == 1;
        return new LeaseGrant(allowed, allowed ? leaseId : "", policy.Limit, (uint)(long)reply[1], FromMicros((long)reply[2]), Degraded: false);
    }

    /// <returns>False when the lease had expired (even if not yet swept) or was released already.</returns>
    public async Task<bool> ReleaseAsync(string policyName, string key, string leaseId) =>
        (long)await Release.EvaluateAsync(redis.GetDatabase(), [StateKey(policyName, key, RateLimitAlgorithm.Concurrency)], [Now(), leaseId]) == 1;

    /// <summary>Forgets (policy, key) under every algorithm, so a policy edited since is reset too.</summary>
    public Task ResetAsync(string policyName, string key) =>
        redis.GetDatabase().KeyDeleteAsync(Enum.GetValues<RateLimitAlgorithm>().Select(a => StateKey(policyName, key, a)).ToArray());

    /// <summary>
    /// <c>rl:{key}:policy:algorithm</c>. The hash tag is the caller's key, so every policy's state for
    /// one key lives in one cluster slot: CheckMany over one key is a single-slot script.
    /// </summary>
    public static RedisKey StateKey(string policyName, string key, RateLimitAlgorithm algorithm) =>
        $"rl:{{{key}}}:{policyName}:{algorithm switch
        {
            RateLimitAlgorithm.FixedWindow => "fw",
            RateLimitAlgorithm.SlidingWindow => "sw",
            RateLimitAlgorithm.TokenBucket => "tb",
            _ => "cc",
        }}";

    RedisValue Now() => clockOverride is null ? RedisValue.EmptyString : Micros(clockOverride.GetUtcNow() - DateTimeOffset.UnixEpoch);

    static long Micros(TimeSpan span) => span.Ticks / TimeSpan.TicksPerMicrosecond;

    static TimeSpan FromMicros(long micros) => TimeSpan.FromTicks(micros * TimeSpan.TicksPerMicrosecond);
}
