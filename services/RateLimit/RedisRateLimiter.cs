using System.Runtime.CompilerServices;
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
/// CheckMany, on the server's clock, so every replica shares one exact count. Every script's keys share
/// one hash slot (Redis Cluster): a CheckMany over several keys is split per slot.
/// </summary>
/// <param name="clockOverride">Tests pass a fake clock; null (production) uses the Redis server's clock.</param>
public sealed class RedisRateLimiter(IConnectionMultiplexer redis, TimeProvider? clockOverride = null)
{
    static readonly RedisScript Decide = RedisScript.FromResource(typeof(RedisRateLimiter).Assembly, "decide.lua");
    static readonly RedisScript Acquire = RedisScript.FromResource(typeof(RedisRateLimiter).Assembly, "acquire.lua");
    static readonly RedisScript Release = RedisScript.FromResource(typeof(RedisRateLimiter).Assembly, "release.lua");

    /// <summary>
    /// Decides every check atomically in one script when their state shares one hash slot: always on a
    /// single server, and on a Redis Cluster when the checks share their key. Otherwise (a cluster, several
    /// keys) each slot's checks are one script, all sent at once; that needs <paramref name="allOrNothing"/>
    /// false, as a script cannot span slots (see <see cref="FirstCheckInAnotherSlot"/>).
    /// </summary>
    /// <exception cref="ArgumentException">All or nothing over checks in several slots.</exception>
    public Task<Decisions> DecideAsync(IReadOnlyList<LimitCheck> checks, bool allOrNothing)
    {
        var keys = StateKeys(checks);
        if (FirstKeyInAnotherSlot(keys) is not { } other)
        {
            return DecideInOneScriptAsync(checks, keys, allOrNothing);
        }
        if (allOrNothing)
        {
            throw new ArgumentException($"All-or-nothing checks must share one hash slot; check {other} does not share check 0's.", nameof(checks));
        }
        return DecideSlotBySlotAsync(checks, keys);
    }

    async Task<Decisions> DecideSlotBySlotAsync(IReadOnlyList<LimitCheck> checks, RedisKey[] keys)
    {
        var bySlot = Enumerable.Range(0, checks.Count).GroupBy(i => redis.HashSlot(keys[i])).Select(g => g.ToArray()).ToList();
        var decided = await Task.WhenAll(bySlot.Select(indices =>
            DecideInOneScriptAsync(indices.Select(i => checks[i]).ToList(), indices.Select(i => keys[i]).ToArray(), allOrNothing: false)));
        var results = new Decision[checks.Count];
        for (var group = 0; group < bySlot.Count; group++)
        {
            for (var j = 0; j < bySlot[group].Length; j++)
            {
                results[bySlot[group][j]] = decided[group].Results[j];
            }
        }
        return new Decisions(results.All(r => r.Allowed), results);
    }

    /// <summary>
    /// On a Redis Cluster, the index of the first check whose state lives in another hash slot than the
    /// first check's; null when one script decides them all (on a single server, always).
    /// </summary>
    public int? FirstCheckInAnotherSlot(IReadOnlyList<LimitCheck> checks) => FirstKeyInAnotherSlot(StateKeys(checks));

    static RedisKey[] StateKeys(IReadOnlyList<LimitCheck> checks)
    {
        var keys = new RedisKey[checks.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = StateKey(checks[i].PolicyName, checks[i].Key, checks[i].Policy.Algorithm);
        }
        return keys;
    }

    int? FirstKeyInAnotherSlot(RedisKey[] keys)
    {
        if (keys.Length == 1)
        {
            return null;
        }
        // -1 for every key on a single server: no slots there.
        var first = redis.HashSlot(keys[0]);
        for (var i = 1; i < keys.Length; i++)
        {
            if (redis.HashSlot(keys[i]) != first)
            {
                return i;
            }
        }
        return null;
    }

    /// <summary>
    /// The arguments of a lone Check costing 1 (most calls) depend on the policy alone: built once per policy
    /// (an edited policy is a new object) and shared, as the client only reads them.
    /// </summary>
    static readonly ConditionalWeakTable<RateLimitPolicy, RedisValue[]> SingleCheckArgs = new();

    async Task<Decisions> DecideInOneScriptAsync(IReadOnlyList<LimitCheck> checks, RedisKey[] keys, bool allOrNothing)
    {
        var args = checks is [{ Cost: 1 } single] && clockOverride is null
            ? SingleCheckArgs.GetValue(single.Policy, static policy => BuildArgs([new LimitCheck("", policy, "", 1)], RedisValue.EmptyString, false))
            : BuildArgs(checks, Now(), allOrNothing);
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

    static RedisValue[] BuildArgs(IReadOnlyList<LimitCheck> checks, RedisValue now, bool allOrNothing)
    {
        var args = new RedisValue[2 + checks.Count * 6];
        args[0] = now;
        args[1] = allOrNothing ? 1 : 0;
        for (var i = 0; i < checks.Count; i++)
        {
            var policy = checks[i].Policy;
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
            args[a + 4] = checks[i].Cost;
            args[a + 5] = policy.Shadow ? 1 : 0;
        }
        return args;
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
    /// <c>rl:{key}:policy:algorithm</c>. The hash tag is the caller's key (team-scoped), so every policy's
    /// state for one key lives in one cluster slot: CheckMany over one key, and Reset's DEL of all four
    /// algorithms' keys, are single-slot.
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
