using Microsoft.Extensions.Time.Testing;
using Platform.RateLimit;

namespace Platform.Tests.Unit;

public sealed class LocalFallbackLimiterTests
{
    [Fact]
    public void A_degraded_lease_that_is_never_released_frees_its_permit_after_its_ttl()
    {
        var time = new FakeTimeProvider();
        using var limiter = new LocalFallbackLimiter(new StaticOptionsMonitor<RateLimitOptions>(new RateLimitOptions()), time);
        var policy = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.Concurrency, Limit = 1, FailureMode = FailureMode.Local };

        var first = limiter.Acquire("slots", policy, "user", TimeSpan.FromSeconds(10));
        var whileHeld = limiter.Acquire("slots", policy, "user", TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));
        var afterTtl = limiter.Acquire("slots", policy, "user", TimeSpan.FromSeconds(10));

        Assert.True(first.Allowed && first.Degraded);
        Assert.False(whileHeld.Allowed);
        Assert.True(afterTtl.Allowed);
        Assert.False(limiter.Release(first.LeaseId)); // it had expired
        Assert.True(limiter.Release(afterTtl.LeaseId));
    }

    [Fact]
    public void A_cost_above_the_replica_share_is_denied_not_thrown()
    {
        using var limiter = new LocalFallbackLimiter(
            new StaticOptionsMonitor<RateLimitOptions>(new RateLimitOptions { Replicas = 4 }), new FakeTimeProvider());
        var policy = new RateLimitPolicy { Algorithm = RateLimitAlgorithm.TokenBucket, Limit = 100, Window = TimeSpan.FromMinutes(1) };

        var decision = limiter.Check(new LimitCheck("p", policy, "k", 50));

        Assert.False(decision.Allowed);
        Assert.True(decision.Degraded);
    }
}
