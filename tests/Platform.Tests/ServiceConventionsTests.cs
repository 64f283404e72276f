using Grpc.Reflection.V1Alpha;
using Platform.Cache.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests;

/// <summary>What every service offers a caller that has nothing but an address: health and reflection.</summary>
public sealed class ServiceConventionsTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task Reflection_lists_the_service_health_and_reflection()
    {
        var host = Start<CacheService>(redis);
        var reflection = new ServerReflection.ServerReflectionClient(host.Channel());

        using var call = reflection.ServerReflectionInfo(cancellationToken: TestContext.Current.CancellationToken);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Contains("platform.cache.v1.Cache", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task Health_answers_over_http2_cleartext_on_the_grpc_port()
    {
        var host = Start<CacheService>(redis);
        using var http2 = new HttpClient
        {
            BaseAddress = host.Addresses[0],
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        var health = await http2.GetAsync("/health", TestContext.Current.CancellationToken);
        var alive = await http2.GetAsync("/alive", TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(System.Net.HttpStatusCode.OK, alive.StatusCode);
    }
}
