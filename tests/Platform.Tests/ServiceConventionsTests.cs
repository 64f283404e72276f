using System.Text.Json;
using Grpc.Reflection.V1Alpha;
using Platform.AudioQueue.Grpc;
using Platform.Cache.Grpc;
using Platform.Diagnostics.V1;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests;

/// <summary>What every service offers a caller that has nothing but an address: health, reflection and scaling info.</summary>
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
        Assert.Equal("Healthy", HealthBody.Status(await health.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)));
        Assert.Equal(System.Net.HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task Each_service_reports_its_hardware_and_concurrency_over_grpc_and_json()
    {
        var queue = Start<AudioQueueService>(redis, ("AudioQueue:Worker:Concurrency", "3"), ("AudioQueue:MaxConcurrency", "7"));
        var rateLimit = Start<RateLimiterService>(redis, ("RateLimit:Replicas", "4"));
        var cache = Start<CacheService>(redis);

        var info = await new Diagnostics.V1.Diagnostics.DiagnosticsClient(queue.Channel()).GetScalingInfoAsync(new GetScalingInfoRequest());
        Assert.Equal("AudioQueue", info.Service);
        Assert.Equal((uint)Environment.ProcessorCount, info.ProcessorCount);
        Assert.True(info.MemoryLimitBytes > 0 && info.WorkingSetBytes > 0);
        Assert.False(string.IsNullOrEmpty(info.ReplicaId));
        Assert.Equal(("3", "7"), (info.Concurrency["audioqueue.worker.concurrency"], info.Concurrency["audioqueue.max_concurrency.configured"]));

        var limiter = await new Diagnostics.V1.Diagnostics.DiagnosticsClient(rateLimit.Channel()).GetScalingInfoAsync(new GetScalingInfoRequest());
        Assert.Equal("4", limiter.Concurrency["ratelimit.replicas"]);

        using var json = cache.JsonClient();
        var body = JsonDocument.Parse(await json.GetStringAsync("/v1/diagnostics/scaling", TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("Cache", body.GetProperty("service").GetString());
        Assert.True(body.GetProperty("concurrency").TryGetProperty("cache.l1.max_entries", out _));
    }
}
