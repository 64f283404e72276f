using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.RateLimit.Grpc;
using Platform.ServiceDefaults.Admission;
using Platform.Tests.Support;

namespace Platform.Tests.Admission;

/// <summary>
/// Real services whose admission limit is one request at a time, with a request held in flight: the next is
/// refused at once with a retry hint in the caller's protocol, probes and capacity-freeing work still pass,
/// health says why, and the service serves again as soon as the slot is free.
/// </summary>
public sealed class LoadSheddingTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    static readonly (string, string?)[] OneAtATime =
    [
        ("Admission:Enabled", "true"),
        ("Admission:Classes:default:MaxConcurrency", "1"), ("Admission:Classes:default:MinConcurrency", "1"), ("Admission:Classes:default:QueueLimit", "0"),
    ];

    static readonly Duration Minute = Duration.FromTimeSpan(TimeSpan.FromMinutes(1));

    [Fact]
    public async Task A_full_service_refuses_grpc_and_json_calls_with_a_retry_hint_keeps_probes_and_fills_open_and_recovers()
    {
        var host = Start<CacheService>(redis, OneAtATime);
        var cache = new Platform.Cache.V1.Cache.CacheClient(host.Channel());
        var gate = host.Services.GetRequiredService<AdmissionControl>().Gate(AdmissionClassAttribute.Default);
        var key = "held-" + Guid.NewGuid().ToString("N");

        // One Lookup takes the lease; a second waits for its Fill and holds the only slot.
        var lease = (await cache.LookupAsync(new LookupRequest { Namespace = "shed", Key = key, LeaseTtl = Minute })).Lease;
        var waiting = cache.LookupAsync(new LookupRequest { Namespace = "shed", Key = key, MaxWait = Minute }).ResponseAsync;
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(gate.InFlight == 1)));

        var refused = await Assert.ThrowsAsync<RpcException>(() => cache.GetAsync(new GetRequest { Namespace = "shed", Key = "other" }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.NotNull(refused.GetRpcStatus()?.GetDetail<RetryInfo>()?.RetryDelay);
        Assert.Equal("OVERLOADED", refused.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);

        using var json = host.JsonClient();
        using var refusedJson = await json.GetAsync("/v1/cache/shed/other");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refusedJson.StatusCode);
        Assert.True(refusedJson.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal((int)Code.ResourceExhausted, (await refusedJson.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetInt32());

        using var probe = new HttpClient { BaseAddress = host.Http1Address };
        var health = await probe.GetStringAsync("/health");
        Assert.Contains("Shedding load", health);
        Assert.Contains("Degraded", health);

        // Fill frees capacity: never refused, and it hands the waiter its value.
        await cache.FillAsync(new FillRequest { Namespace = "shed", Key = key, Token = lease.Token, Value = ByteString.CopyFromUtf8("v"), Ttl = Minute });
        Assert.Equal("v", (await waiting).Hit.Value.ToStringUtf8());
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(gate.InFlight == 0)));
        Assert.False((await cache.GetAsync(new GetRequest { Namespace = "shed", Key = "other" })).Found); // served again
        Assert.True(gate.Shed >= 2);
    }

    [Fact]
    public async Task ChatApi_answers_a_full_chat_class_with_503_retry_after_and_an_overloaded_error_then_recovers()
    {
        await using var model = await HeldUpstream.StartAsync();
        var rateLimit = Start<RateLimiterService>(redis);
        var cache = Start<CacheService>(redis);
        var chat = Track(ChatApiHost.Start(rateLimit.GrpcAddress.ToString(), cache.GrpcAddress.ToString(), new Dictionary<string, string?>
        {
            ["Chat:Upstream:Endpoint"] = model.Endpoint, ["Chat:Upstream:Model"] = "held-model",
            ["Admission:Enabled"] = "true", ["Admission:Classes:chat:MaxConcurrency"] = "1", ["Admission:Classes:chat:MinConcurrency"] = "1", ["Admission:Classes:chat:QueueLimit"] = "0",
        }));
        using var http = new HttpClient { BaseAddress = chat.HttpAddress };

        var first = http.PostAsync("/v1/chat/completions", Question("first"));
        var held = await model.NextAsync();
        using var refused = await http.PostAsync("/v1/chat/completions", Question("second"));
        held.Release("first answer");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("overloaded", error.GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);

        var third = http.PostAsync("/v1/chat/completions", Question("third"));
        (await model.NextAsync()).Release("third answer");
        Assert.Equal(HttpStatusCode.OK, (await third).StatusCode);
    }

    [Fact]
    public async Task ChatApi_sheds_a_request_while_Cache_is_overloaded_instead_of_answering_it_uncached()
    {
        await using var model = await HeldUpstream.StartAsync();
        var rateLimit = Start<RateLimiterService>(redis);
        var cache = Start<CacheService>(redis, OneAtATime);
        var chat = Track(ChatApiHost.Start(rateLimit.GrpcAddress.ToString(), cache.GrpcAddress.ToString(), new Dictionary<string, string?>
        {
            ["Chat:Upstream:Endpoint"] = model.Endpoint, ["Chat:Upstream:Model"] = "held-model",
        }));
        using var http = new HttpClient { BaseAddress = chat.HttpAddress };
        var cacheGate = cache.Services.GetRequiredService<AdmissionControl>().Gate(AdmissionClassAttribute.Default);
        var question = "shared " + Guid.NewGuid().ToString("N");

        // The first asker holds the lease while the model answers; the second waits in Cache for it, holding Cache's only slot.
        var asker = http.PostAsync("/v1/chat/completions", Question(question));
        var held = await model.NextAsync();
        var waiter = http.PostAsync("/v1/chat/completions", Question(question));
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(cacheGate.InFlight == 1)));

        using var shed = await http.PostAsync("/v1/chat/completions", Question("another " + Guid.NewGuid().ToString("N")));
        held.Release("shared answer");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, shed.StatusCode);
        Assert.NotNull(shed.Headers.RetryAfter);
        var error = (await shed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("overloaded", error.GetProperty("type").GetString());
        Assert.StartsWith("Cache is overloaded", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await asker).StatusCode);
        using var waited = await waiter;
        Assert.Equal("HIT", waited.Headers.GetValues("X-Cache").Single());
    }

    static StringContent Question(string text) =>
        new(JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = text } } }), System.Text.Encoding.UTF8, "application/json");
}
