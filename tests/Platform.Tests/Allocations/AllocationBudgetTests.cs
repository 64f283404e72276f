using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Platform.AudioQueue.V1;
using Platform.Cache.V1;
using Platform.Diagnostics.V1;
using Platform.RateLimit.V1;
using Platform.Tests.Support;

namespace Platform.Tests.Allocations;

/// <summary>
/// Bytes allocated per call on each hot path, in the service's own process (its runtime counters, so the test
/// process and other tests do not count), beyond what the no-op Diagnostics.Ping allocates there measured the
/// same way (ChatApi: beyond GET /v1/models). A regression fails here without timing anything.
/// </summary>
/// <remarks>
/// Tests run the Debug build, whose async methods allocate their state machines even when they finish at
/// once, so these budgets sit above what the Release build allocates (docs/PERFORMANCE.md has both). Redis is
/// Garnet in the test process: its allocations are not the service's, so the engine does not change the numbers.
/// </remarks>
public sealed class AllocationBudgetTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    const int WarmUpCalls = 300, MeasuredCalls = 1500;

    [Fact]
    public async Task RateLimit_check_stays_within_its_allocation_budget()
    {
        using var service = await StartAsync("RateLimit", ("RateLimit:Policies:budget:Limit", "1000000000"), ("RateLimit:Policies:budget:Window", "01:00:00"));
        using var channel = service.Channel();
        var limiter = new RateLimiter.RateLimiterClient(channel);

        var beyond = await BeyondPingAsync(channel, (i) => limiter.CheckAsync(new CheckRequest { Policy = "budget", Key = "key-" + i % 100 }).ResponseAsync);

        Assert.True(beyond <= 4 * 1024, $"RateLimit.Check allocates {beyond:N0} B per call beyond Diagnostics.Ping (budget 4 KiB, Debug build)");
    }

    [Fact]
    public async Task Cache_get_hit_from_redis_stays_within_its_allocation_budget()
    {
        using var service = await StartAsync("Cache", ("Cache:L1MaxBytes", "0")); // every Get reads Redis (L2)
        using var channel = service.Channel();
        var cache = new Platform.Cache.V1.Cache.CacheClient(channel);
        var value = ByteString.CopyFrom(new byte[1024]);
        for (var i = 0; i < 100; i++)
        {
            await cache.SetAsync(new SetRequest { Namespace = "budget", Key = "k" + i, Value = value, Ttl = Duration.FromTimeSpan(TimeSpan.FromHours(1)) });
        }

        var beyond = await BeyondPingAsync(channel, i => cache.GetAsync(new GetRequest { Namespace = "budget", Key = "k" + i % 100 }).ResponseAsync);

        Assert.True(beyond <= 4 * 1024 + value.Length, $"Cache.Get (L2 hit, 1 KiB value) allocates {beyond:N0} B per call beyond Diagnostics.Ping (budget 4 KiB + the value, Debug build)");
    }

    [Fact]
    public async Task AudioQueue_enqueue_stays_within_its_allocation_budget()
    {
        using var service = await StartAsync("AudioQueue", ("AudioQueue:Worker:Enabled", "false"), ("AudioQueue:MaxDepth", "1000000"));
        using var channel = service.Channel();
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(channel);
        var audio = ByteString.CopyFrom(new byte[1024]);

        var beyond = await BeyondPingAsync(channel, i => queue.EnqueueAsync(new EnqueueRequest { Audio = audio, ContentType = "audio/wav", Tenant = "t" + i % 8 }).ResponseAsync);

        Assert.True(beyond <= 7 * 1024 + audio.Length, $"AudioQueue.Enqueue allocates {beyond:N0} B per call beyond Diagnostics.Ping (budget 7 KiB + the audio, Debug build)");
    }

    [Fact]
    public async Task ChatApi_cached_completion_stays_within_its_allocation_budget()
    {
        using var rateLimit = await StartAsync("RateLimit", ("RateLimit:Policies:chat:Limit", "1000000000"),
            ("RateLimit:Policies:chat-tokens:Limit", "4000000000"), ("RateLimit:Policies:chat-tokens:Burst", "4000000000"));
        using var cache = await StartAsync("Cache");
        using var chat = await StartAsync("ChatApi", ("services:ratelimit:http:0", rateLimit.GrpcAddress.ToString()),
            ("services:cache:http:0", cache.GrpcAddress.ToString()), ("Chat:ScalingDebug", "true"));
        using var http = new HttpClient { BaseAddress = chat.HttpAddress };
        var question = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "the same question, every time" } } });

        async Task<long> AllocatedAsync() => long.Parse(
            (await http.GetFromJsonAsync<JsonElement>("/debug/scaling")).GetProperty("replica").GetProperty("runtime").GetProperty("allocatedBytes").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        async Task<double> PerCallAsync(Func<Task> call)
        {
            for (var i = 0; i < WarmUpCalls; i++)
            {
                await call();
            }
            var before = await AllocatedAsync();
            for (var i = 0; i < MeasuredCalls; i++)
            {
                await call();
            }
            return (double)(await AllocatedAsync() - before) / MeasuredCalls;
        }

        (await http.PostAsync("/v1/chat/completions", new StringContent(question, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode().Dispose(); // now cached
        var models = await PerCallAsync(async () => (await http.GetAsync("/v1/models")).EnsureSuccessStatusCode().Dispose());
        var cached = await PerCallAsync(async () =>
        {
            using var answer = await http.PostAsync("/v1/chat/completions", new StringContent(question, Encoding.UTF8, "application/json"));
            Assert.Equal("HIT", answer.EnsureSuccessStatusCode().Headers.GetValues("X-Cache").Single());
        });
        var beyond = cached - models;

        Assert.True(beyond <= 40 * 1024, $"a cached chat completion allocates {beyond:N0} B per request beyond GET /v1/models (budget 40 KiB, Debug build)");
    }

    Task<ServiceProcess> StartAsync(string name, params (string Key, string? Value)[] settings)
    {
        redis.RequireAvailable();
        // Admission on: its cost is part of every call's.
        return ServiceProcess.StartAsync(name, redis.Endpoint!, settings.Append((Key: "Admission:Enabled", Value: (string?)"true")).ToDictionary(s => s.Key, s => s.Value));
    }

    /// <summary>Bytes per call of <paramref name="call"/> minus those of Diagnostics.Ping, each after a warm-up, in the service's process.</summary>
    static async Task<double> BeyondPingAsync(Grpc.Net.Client.GrpcChannel channel, Func<int, Task> call)
    {
        var diagnostics = new Diagnostics.V1.Diagnostics.DiagnosticsClient(channel);
        async Task<double> PerCallAsync(Func<int, Task> measured)
        {
            for (var i = 0; i < WarmUpCalls; i++)
            {
                await measured(i);
            }
            var before = (await diagnostics.GetScalingInfoAsync(new GetScalingInfoRequest())).Runtime.AllocatedBytes;
            for (var i = 0; i < MeasuredCalls; i++)
            {
                await measured(i);
            }
            return (double)((await diagnostics.GetScalingInfoAsync(new GetScalingInfoRequest())).Runtime.AllocatedBytes - before) / MeasuredCalls;
        }

        var ping = await PerCallAsync(_ => diagnostics.PingAsync(new PingRequest()).ResponseAsync);
        return await PerCallAsync(call) - ping;
    }
}
