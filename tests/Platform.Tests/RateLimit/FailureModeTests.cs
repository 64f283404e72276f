using Grpc.Core;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.Tests.Support;

namespace Platform.Tests.RateLimit;

/// <summary>Redis stops under a running RateLimit: each policy's FailureMode decides, marked degraded.</summary>
public sealed class FailureModeTests : HostedTest
{
    [Fact]
    public async Task Open_allows_closed_denies_local_limits_in_process_and_redis_coming_back_ends_degraded_mode()
    {
        var port = RedisFixture.FreePort();
        var garnet = GarnetProcess.Start(port);
        var host = Track(new ServiceHost<RateLimiterService>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = $"127.0.0.1:{port}",
            ["RateLimit:Policies:open:Limit"] = "1", ["RateLimit:Policies:open:FailureMode"] = "Open",
            ["RateLimit:Policies:closed:Limit"] = "1", ["RateLimit:Policies:closed:FailureMode"] = "Closed",
            // Two replicas: each admits half of a limit on its own while Redis is away.
            ["RateLimit:Replicas"] = "2",
            ["RateLimit:Policies:local:Limit"] = "4", ["RateLimit:Policies:local:Window"] = "01:00:00", ["RateLimit:Policies:local:FailureMode"] = "Local",
            ["RateLimit:Policies:tiny:Limit"] = "2", ["RateLimit:Policies:tiny:Window"] = "01:00:00", ["RateLimit:Policies:tiny:FailureMode"] = "Local",
            ["RateLimit:Policies:slots:Algorithm"] = "Concurrency", ["RateLimit:Policies:slots:Limit"] = "1", ["RateLimit:Policies:slots:FailureMode"] = "Local",
        }));
        var client = new RateLimiter.RateLimiterClient(host.Channel());
        Task<CheckResponse> Check(string policy) => client.CheckAsync(new CheckRequest { Policy = policy, Key = "user-1" }).ResponseAsync;

        var healthy = await Check("closed");
        garnet.Dispose();
        Assert.True(await Eventually.TrueAsync(async () => (await Check("open")).Degraded), "never degraded after Redis stopped");

        var open = await Task.WhenAll(Check("open"), Check("open"), Check("open"));
        var closed = await Check("closed");
        var local = new[] { await Check("local"), await Check("local"), await Check("local") };
        var overShare = await client.CheckAsync(new CheckRequest { Policy = "tiny", Key = "user-1", Cost = 2 });
        var lease = await client.AcquireAsync(new AcquireRequest { Policy = "slots", Key = "user-1" });
        var secondLease = await client.AcquireAsync(new AcquireRequest { Policy = "slots", Key = "user-1" });
        var released = await client.ReleaseAsync(new ReleaseRequest { Policy = "slots", Key = "user-1", LeaseId = lease.LeaseId });
        var (resetCode, _) = await Rpc.FailureOf(() => client.ResetAsync(new ResetRequest { Policy = "open", Key = "user-1" }).ResponseAsync);

        Assert.True(healthy.Allowed && !healthy.Degraded);
        Assert.All(open, r => Assert.True(r.Allowed && r.Degraded));
        Assert.True(!closed.Allowed && closed.Degraded);
        Assert.Equal([true, true, false], local.Select(r => r.Allowed));
        Assert.All(local, r => Assert.True(r.Degraded));
        Assert.True(!overShare.Allowed && overShare.Degraded); // more than this replica's share: denied, not an error
        Assert.True(lease.Allowed && lease.Degraded);
        Assert.False(secondLease.Allowed);
        Assert.True(released.Released);
        Assert.Equal(StatusCode.Unavailable, resetCode); // an admin write cannot be faked

        using var restarted = GarnetProcess.Start(port);
        Assert.True(await Eventually.TrueAsync(async () => !(await Check("open")).Degraded), "still degraded after Redis returned");
        Assert.False((await Check("closed")).Degraded);
    }
}
