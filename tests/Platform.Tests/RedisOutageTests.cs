using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.Tests.Support;

namespace Platform.Tests;

/// <summary>A service whose Redis is missing at start-up starts anyway, reports it, and recovers on its own.</summary>
public sealed class RedisOutageTests : HostedTest
{
    [Fact]
    public async Task Service_starts_without_redis_reports_unhealthy_then_recovers_when_redis_appears()
    {
        var port = RedisFixture.FreePort();
        var host = Track(new ServiceHost<CacheService>(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = $"127.0.0.1:{port}" }));
        var health = new Health.HealthClient(host.Channel());
        var cache = new Platform.Cache.V1.Cache.CacheClient(host.Channel());
        var set = new SetRequest { Namespace = "outage", Key = "k", Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)) };

        var whileDown = await health.CheckAsync(new HealthCheckRequest());
        var (code, details) = await Rpc.FailureOf(() => cache.SetAsync(set).ResponseAsync);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, whileDown.Status);
        Assert.Equal(StatusCode.Unavailable, code);
        Assert.Equal("REDIS_UNAVAILABLE", details!.GetDetail<ErrorInfo>().Reason);

        using var garnet = GarnetProcess.Start(port);
        var recovered = await Eventually.TrueAsync(async () =>
            (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving);

        Assert.True(recovered, "the service did not report SERVING after Redis appeared");
        await cache.SetAsync(set);
    }
}
