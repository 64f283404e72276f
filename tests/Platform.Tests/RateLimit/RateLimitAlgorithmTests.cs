using Microsoft.Extensions.Time.Testing;
using Platform.RateLimit;
using Platform.Tests.Support;

namespace Platform.Tests.RateLimit;

public sealed class RateLimitAlgorithmTestsOnRedis(RedisServerFixture redis) : RateLimitAlgorithmTests(redis), IClassFixture<RedisServerFixture>;
public sealed class RateLimitAlgorithmTestsOnGarnet(GarnetFixture redis) : RateLimitAlgorithmTests(redis), IClassFixture<GarnetFixture>;
public sealed class RateLimitAlgorithmTestsOnRedisCluster(RedisClusterFixture redis) : RateLimitAlgorithmTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>
/// The Lua algorithms on a real server, driven by a fake clock (the scripts take the time from the
/// caller when one is given), against reference models and the properties each algorithm promises.
/// </summary>
public abstract class RateLimitAlgorithmTests(RedisFixture redis)
{
    const long Second = 1_000_000;
    static readonly RateLimitPolicy Fixed = new() { Algorithm = RateLimitAlgorithm.FixedWindow, Limit = 5, Window = TimeSpan.FromSeconds(1) };
    static readonly RateLimitPolicy Bucket = new() { Algorithm = RateLimitAlgorithm.TokenBucket, Limit = 10, Window = TimeSpan.FromSeconds(1), Burst = 4 };
    static readonly RateLimitPolicy Sliding = new() { Algorithm = RateLimitAlgorithm.SlidingWindow, Limit = 6, Window = TimeSpan.FromSeconds(1) };

    readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    RedisRateLimiter Limiter()
    {
        redis.RequireAvailable();
        return new RedisRateLimiter(redis.Connection, time);
    }

    long Now => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;

    static long Micros(TimeSpan span) => span.Ticks / 10;

    static async Task<Decision> CheckAsync(RedisRateLimiter limiter, RateLimitPolicy policy, string key, uint cost = 1) =>
        (await limiter.DecideAsync([new LimitCheck("p", policy, key, cost)], allOrNothing: false)).Results[0];

    public static TheoryData<string, int> ModelledAlgorithms => new()
    {
        { "FixedWindow", 1 }, { "FixedWindow", 2 }, { "FixedWindow", 3 },
        { "TokenBucket", 1 }, { "TokenBucket", 2 }, { "TokenBucket", 3 },
    };

    [Theory]
    [MemberData(nameof(ModelledAlgorithms))]
    public async Task Decisions_and_retry_after_match_the_reference_model(string algorithm, int seed)
    {
        var limiter = Limiter();
        var (policy, model) = algorithm == "FixedWindow"
            ? (Fixed, (IReferenceModel)new FixedWindowModel(Fixed.Limit, Second))
            : (Bucket, new TokenBucketModel(Bucket.Limit, Second, Bucket.Burst!.Value));
        var random = new Random(seed);
        var key = Guid.NewGuid().ToString();

        for (var step = 0; step < 300; step++)
        {
            var cost = (uint)random.Next(0, 3);
            var expected = model.Decide(Now, cost);
            var actual = await CheckAsync(limiter, policy, key, cost);

            Assert.True(expected.Allowed == actual.Allowed, $"step {step}: cost {cost}, model allowed={expected.Allowed}, script allowed={actual.Allowed}");
            Assert.Equal(expected.RetryAfterMicros, Micros(actual.RetryAfter));

            // Land exactly on the retry moment, just before it, or somewhere random.
            var advance = random.Next(3) switch
            {
                0 when !actual.Allowed => expected.RetryAfterMicros,
                1 when !actual.Allowed => expected.RetryAfterMicros - 1,
                _ => random.NextInt64(0, Second / 4),
            };
            time.Advance(TimeSpan.FromTicks(advance * 10));
        }
    }

    [Fact]
    public async Task Token_bucket_honours_its_burst_then_refills_one_interval_at_a_time()
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();

        var burst = new List<Decision>();
        for (var i = 0; i < 4; i++)
        {
            burst.Add(await CheckAsync(limiter, Bucket, key));
        }
        var denied = await CheckAsync(limiter, Bucket, key);
        time.Advance(TimeSpan.FromMilliseconds(99.999));
        var stillDenied = await CheckAsync(limiter, Bucket, key);
        time.Advance(TimeSpan.FromTicks(10));
        var refilled = await CheckAsync(limiter, Bucket, key);

        Assert.All(burst, d => Assert.True(d.Allowed));
        Assert.Equal([3u, 2u, 1u, 0u], burst.Select(d => d.Remaining));
        Assert.Equal(4u, burst[0].Limit);
        Assert.False(denied.Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(100), denied.RetryAfter);
        Assert.Equal(TimeSpan.FromMilliseconds(400), denied.ResetAfter);
        Assert.False(stillDenied.Allowed);
        Assert.True(refilled.Allowed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Token_bucket_never_admits_more_than_burst_plus_refill_in_any_interval(int seed)
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();
        var random = new Random(seed);
        var admitted = new List<(long At, long Cost)>();

        for (var step = 0; step < 300; step++)
        {
            var cost = (uint)random.Next(1, 3);
            if ((await CheckAsync(limiter, Bucket, key, cost)).Allowed)
            {
                admitted.Add((Now, cost));
            }
            time.Advance(TimeSpan.FromTicks(random.NextInt64(0, Second / 10) * 10));
        }

        for (var i = 0; i < admitted.Count; i++)
        {
            for (var j = i; j < admitted.Count; j++)
            {
                var span = admitted[j].At - admitted[i].At;
                var units = admitted.Skip(i).Take(j - i + 1).Sum(a => a.Cost);
                Assert.True(units <= Bucket.Burst + span * Bucket.Limit / Second,
                    $"{units} units admitted within {span} us; at most {Bucket.Burst} + refill allowed");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Sliding_window_never_exceeds_the_limit_in_any_aligned_window_and_retry_after_is_when_it_passes(int seed)
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();
        var random = new Random(seed);
        var unitsPerWindow = new Dictionary<long, long>();

        for (var step = 0; step < 300; step++)
        {
            var cost = (uint)random.Next(1, 3);
            var decision = await CheckAsync(limiter, Sliding, key, cost);
            if (decision.Allowed)
            {
                unitsPerWindow[Now / Second] = unitsPerWindow.GetValueOrDefault(Now / Second) + cost;
            }
            else if (decision.RetryAfter > TimeSpan.FromMilliseconds(1) && random.Next(2) == 0)
            {
                // The weighted estimate is fractional: "exact" here means within a millisecond.
                time.Advance(decision.RetryAfter - TimeSpan.FromMilliseconds(1));
                Assert.False((await CheckAsync(limiter, Sliding, key, cost)).Allowed, $"step {step}: passed before retry_after");
                time.Advance(TimeSpan.FromMilliseconds(1));
                var retried = await CheckAsync(limiter, Sliding, key, cost);
                Assert.True(retried.Allowed, $"step {step}: still denied at retry_after");
                unitsPerWindow[Now / Second] = unitsPerWindow.GetValueOrDefault(Now / Second) + cost;
            }
            time.Advance(TimeSpan.FromTicks(random.NextInt64(0, Second / 8) * 10));
        }

        Assert.All(unitsPerWindow, w => Assert.True(w.Value <= Sliding.Limit, $"window {w.Key} admitted {w.Value} units"));
    }

    [Fact]
    public async Task All_or_nothing_consumes_nothing_unless_every_check_passes()
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();
        var roomy = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.FixedWindow, Limit = 5, Window = TimeSpan.FromHours(1) };
        var tight = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.TokenBucket, Limit = 1, Window = TimeSpan.FromHours(1) };
        LimitCheck[] both = [new("roomy", roomy, key, 1), new("tight", tight, key, 1)];

        var first = await limiter.DecideAsync(both, allOrNothing: true);
        var second = await limiter.DecideAsync(both, allOrNothing: true);
        var roomyAfter = await limiter.DecideAsync([new("roomy", roomy, key, 0)], allOrNothing: false);

        Assert.True(first.Allowed);
        Assert.False(second.Allowed);
        Assert.True(second.Results[0].Allowed); // would pass alone...
        Assert.False(second.Results[1].Allowed);
        Assert.Equal(4u, roomyAfter.Results[0].Remaining); // ...but was not consumed
    }

    [Fact]
    public async Task Independent_checks_consume_what_passes()
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();
        var roomy = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.SlidingWindow, Limit = 5, Window = TimeSpan.FromHours(1) };
        var tight = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.FixedWindow, Limit = 1, Window = TimeSpan.FromHours(1) };
        LimitCheck[] both = [new("roomy", roomy, key, 1), new("tight", tight, key, 1)];

        await limiter.DecideAsync(both, allOrNothing: false);
        var second = await limiter.DecideAsync(both, allOrNothing: false);

        Assert.False(second.Allowed);
        Assert.Equal(3u, second.Results[0].Remaining);
    }

    [Fact]
    public async Task Shadow_policy_reports_over_limit_but_never_denies()
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();
        var shadow = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.FixedWindow, Limit = 2, Window = TimeSpan.FromHours(1), Shadow = true };

        var decisions = new List<Decision>();
        for (var i = 0; i < 5; i++)
        {
            decisions.Add(await CheckAsync(limiter, shadow, key));
        }

        Assert.All(decisions, d => Assert.True(d.Allowed));
        Assert.Equal([false, false, true, true, true], decisions.Select(d => d.OverLimit));
    }

    [Fact]
    public async Task Leases_cap_concurrency_and_an_unreleased_lease_expires_after_its_ttl()
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();
        var policy = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.Concurrency, Limit = 2 };
        var ttl = TimeSpan.FromSeconds(10);

        var first = await limiter.AcquireAsync("uploads", policy, key, ttl);
        var second = await limiter.AcquireAsync("uploads", policy, key, ttl);
        var third = await limiter.AcquireAsync("uploads", policy, key, ttl);
        var released = await limiter.ReleaseAsync("uploads", key, first.LeaseId);
        var afterRelease = await limiter.AcquireAsync("uploads", policy, key, ttl);
        time.Advance(ttl - TimeSpan.FromTicks(10));
        var beforeExpiry = await limiter.AcquireAsync("uploads", policy, key, ttl);
        time.Advance(TimeSpan.FromTicks(10));
        var afterExpiry = await limiter.AcquireAsync("uploads", policy, key, ttl);

        Assert.True(first.Allowed);
        Assert.Equal(1u, first.Remaining);
        Assert.True(second.Allowed);
        Assert.False(third.Allowed);
        Assert.Equal(ttl, third.RetryAfter);
        Assert.True(released);
        Assert.False(await limiter.ReleaseAsync("uploads", key, first.LeaseId));
        Assert.True(afterRelease.Allowed);
        Assert.False(beforeExpiry.Allowed);
        Assert.True(afterExpiry.Allowed); // the second lease was never released; its ttl freed it
    }

    [Fact]
    public async Task Releasing_a_lease_after_its_ttl_says_it_was_not_held()
    {
        var limiter = Limiter();
        var key = Guid.NewGuid().ToString();
        var policy = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.Concurrency, Limit = 2 };

        var lease = await limiter.AcquireAsync("uploads", policy, key, TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.False(await limiter.ReleaseAsync("uploads", key, lease.LeaseId));
    }
}
