using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.Tests.Support;

namespace Platform.Tests.Cache;

/// <summary>Redis stops under a running Cache: reads fall back to recent copies, writes fail loudly.</summary>
public sealed class FailSafeTests : HostedTest
{
    [Fact]
    public async Task With_redis_stopped_get_serves_a_recent_copy_flagged_stale_and_writes_fail_with_unavailable()
    {
        var port = RedisFixture.FreePort();
        var garnet = GarnetProcess.Start(port);
        var host = Track(new ServiceHost<CacheService>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = $"127.0.0.1:{port}",
            // No fresh L1 reads: every Get asks Redis, so only fail-safe can answer once it is gone.
            ["Cache:L1Ttl"] = "00:00:00",
        }));
        var client = new Platform.Cache.V1.Cache.CacheClient(host.Channel());
        var set = new SetRequest { Namespace = "failsafe", Key = "k", Value = ByteString.CopyFromUtf8("known"), Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) };
        await client.SetAsync(set);
        var fresh = await client.GetAsync(new GetRequest { Namespace = "failsafe", Key = "k" });

        garnet.Dispose();
        var stale = await client.GetAsync(new GetRequest { Namespace = "failsafe", Key = "k" });
        var (neverSeenCode, _) = await Rpc.FailureOf(() => client.GetAsync(new GetRequest { Namespace = "failsafe", Key = "never-read" }).ResponseAsync);
        var (setCode, setDetails) = await Rpc.FailureOf(() => client.SetAsync(set).ResponseAsync);

        Assert.True(fresh.Found && !fresh.Stale);
        Assert.True(stale.Found);
        Assert.True(stale.Stale);
        Assert.Equal("known", stale.Value.ToStringUtf8());
        Assert.Null(stale.TtlRemaining);
        Assert.Equal(StatusCode.Unavailable, neverSeenCode);
        Assert.Equal(StatusCode.Unavailable, setCode);
        Assert.Equal("REDIS_UNAVAILABLE", setDetails!.GetDetail<ErrorInfo>().Reason);
    }
}
