using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using Platform.AudioQueue.Grpc;
using Platform.Cache.Grpc;
using Platform.Chat.V1;
using Platform.ChatApi.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests.ChatApi;

public sealed class ChatCompletionsTestsOnRedis(RedisServerFixture redis) : ChatCompletionsTests(redis), IClassFixture<RedisServerFixture>;
public sealed class ChatCompletionsTestsOnGarnet(GarnetFixture redis) : ChatCompletionsTests(redis), IClassFixture<GarnetFixture>;
public sealed class ChatCompletionsTestsOnRedisCluster(RedisClusterFixture redis) : ChatCompletionsTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>ChatApi wired to real RateLimit and Cache services, as in a deployment.</summary>
public abstract class ChatCompletionsTests(RedisFixture redis) : HostedTest
{
    const int ChatLimit = 3;

    /// <param name="audioQueue">Also start AudioQueue (without it ChatApi is Degraded: no voice messages).</param>
    async Task<(HttpClient Http, Platform.Chat.V1.Chat.ChatClient Grpc)> StartChatApiAsync(
        int chatLimit = ChatLimit, string modelLatency = "00:00:00", bool audioQueue = false, params (string, string?)[] moreRateLimitSettings)
    {
        redis.RequireAvailable();
        // Every test calls from 127.0.0.1, so each starts with fresh limits and an empty cache.
        await redis.FlushAsync();
        var ratelimit = Start<RateLimiterService>(redis,
            [("RateLimit:Policies:chat:Limit", chatLimit.ToString()), ("RateLimit:Policies:chat:Window", "01:00:00"), .. moreRateLimitSettings]);
        var cache = Start<CacheService>(redis);
        var settings = new Dictionary<string, string?> { ["Chat:Simulated:Latency"] = modelLatency };
        if (audioQueue)
        {
            settings["services:audioqueue:http:0"] = Start<AudioQueueService>(redis, ("AudioQueue:Worker:Enabled", "false")).Addresses[0].ToString();
        }
        var chat = Track(ChatApiHost.Start(ratelimit.Addresses[0].ToString(), cache.Addresses[0].ToString(), settings));
        return (Track(new HttpClient { BaseAddress = chat.HttpAddress }), new Platform.Chat.V1.Chat.ChatClient(chat.GrpcChannel()));
    }

    static StringContent Question(string text) => new(
        JsonSerializer.Serialize(new { model = "platform-sim-1", messages = new[] { new { role = "user", content = text } } }),
        Encoding.UTF8, "application/json");

    [Fact]
    public async Task Repeated_question_is_a_miss_then_a_cache_hit_in_openai_shape()
    {
        var (http, _) = await StartChatApiAsync(audioQueue: true);
        var question = "What is a token bucket? " + Guid.NewGuid();

        var first = await http.PostAsync("/v1/chat/completions", Question(question));
        var second = await http.PostAsync("/v1/chat/completions", Question(question));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("MISS", first.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", second.Headers.GetValues("X-Cache").Single());
        Assert.StartsWith("model;dur=", first.Headers.GetValues("Server-Timing").Single());
        Assert.Equal("model;dur=0", second.Headers.GetValues("Server-Timing").Single()); // answered without the model
        var body = await first.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("platform-sim-1", body.GetProperty("model").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Contains(question, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(body.GetProperty("id").GetString(), (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        Assert.Equal((ChatLimit - 1).ToString(), first.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal("Healthy", HealthBody.Status(await http.GetStringAsync("/health"))); // every dependency answers
    }

    [Fact]
    public async Task A_hundred_identical_questions_at_once_cost_one_model_call()
    {
        // The model takes a moment, so all hundred arrive while the first one is being answered.
        var (http, _) = await StartChatApiAsync(chatLimit: 1000, modelLatency: "00:00:00.300");
        var question = "Everyone asks this " + Guid.NewGuid();

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => http.PostAsync("/v1/chat/completions", Question(question))));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(ids.Distinct()); // every model call mints a new id: one id, one call
        Assert.Equal(1, responses.Count(r => r.Headers.GetValues("X-Cache").Single() == "MISS"));
        Assert.Equal(99, responses.Count(r => r.Headers.GetValues("X-Cache").Single() == "HIT"));
    }

    [Fact]
    public async Task Cache_control_no_cache_no_store_and_max_age_are_honoured()
    {
        var (http, _) = await StartChatApiAsync(chatLimit: 1000);
        async Task<(string Cache, string? Id)> Ask(string question, string? cacheControl = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Question(question) };
            if (cacheControl is not null)
            {
                request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
            }
            var response = await http.SendAsync(request);
            return (response.Headers.GetValues("X-Cache").Single(), (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        }

        var stored = await Ask("kept");
        var skipRead = await Ask("kept", "no-cache");
        var notStored = await Ask("not kept", "no-store");
        var stillNotStored = await Ask("not kept");
        var shortLived = await Ask("kept for a minute", "max-age=60");
        // Stored now: "kept" and "not kept" (stored by the second, plain request) for the default five
        // minutes, "kept for a minute" for one.
        var ttls = redis.Keys("cache:{tests/chat:*}:v")
            .Select(key => redis.Database.KeyTimeToLive(key)!.Value).Order().ToList();

        Assert.Equal("MISS", stored.Cache);
        Assert.Equal("BYPASS", skipRead.Cache);
        Assert.NotEqual(stored.Id, skipRead.Id); // asked the model again
        Assert.Equal("MISS", notStored.Cache);
        Assert.Equal("MISS", stillNotStored.Cache); // the no-store answer was not kept
        Assert.Equal("MISS", shortLived.Cache);
        Assert.Equal(3, ttls.Count);
        Assert.InRange(ttls[0], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.All(ttls.Skip(1), ttl => Assert.InRange(ttl, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public async Task Streamed_answers_arrive_as_server_sent_events_and_are_cached_and_replayed()
    {
        var (http, _) = await StartChatApiAsync();
        var question = "Stream this " + Guid.NewGuid();
        StringContent Streamed() => new(
            JsonSerializer.Serialize(new { stream = true, messages = new[] { new { role = "user", content = question } } }), Encoding.UTF8, "application/json");

        var first = await http.PostAsync("/v1/chat/completions", Streamed());
        var firstEvents = await EventsAsync(first);
        var replay = await http.PostAsync("/v1/chat/completions", Streamed());
        var replayEvents = await EventsAsync(replay);
        var plain = await http.PostAsync("/v1/chat/completions", Question(question));
        var plainContent = (await plain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();

        Assert.Equal("text/event-stream", first.Content.Headers.ContentType!.MediaType);
        Assert.Equal("MISS", first.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", replay.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", plain.Headers.GetValues("X-Cache").Single()); // the streamed answer was cached
        Assert.Equal("[DONE]", firstEvents[^1]);
        var chunks = firstEvents.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.True(chunks.Count > 4); // piece by piece, not one blob
        Assert.Equal(plainContent, Content(firstEvents));
        Assert.Equal(plainContent, Content(replayEvents));
    }

    static async Task<List<string>> EventsAsync(HttpResponseMessage response) =>
        (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.StartsWith("data: ") ? e["data: ".Length..] : throw new InvalidOperationException("not an SSE data event: " + e))
            .ToList();

    static string Content(List<string> events) => string.Concat(events.SkipLast(1)
        .Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("delta"))
        .Select(d => d.TryGetProperty("content", out var c) ? c.GetString() : ""));

    [Fact]
    public async Task Serves_an_openapi_document_and_a_reference_page()
    {
        var (http, _) = await StartChatApiAsync();

        var document = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var page = await http.GetAsync("/scalar");

        Assert.True(document.GetProperty("paths").TryGetProperty("/v1/chat/completions", out var completions));
        Assert.True(completions.TryGetProperty("post", out _));
        Assert.True(document.GetProperty("paths").TryGetProperty("/v1/models", out _));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Grpc_stream_complete_streams_the_same_answer_and_replays_it_from_the_cache()
    {
        var (_, grpc) = await StartChatApiAsync(chatLimit: 100);
        var request = new CompleteRequest { Messages = { new Message { Role = "user", Content = "stream over gRPC " + Guid.NewGuid() } } };

        async Task<List<CompleteChunk>> StreamAsync()
        {
            using var call = grpc.StreamComplete(request);
            var chunks = new List<CompleteChunk>();
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
            {
                chunks.Add(chunk);
            }
            return chunks;
        }

        var fresh = await StreamAsync();
        var replayed = await StreamAsync();
        var whole = await grpc.CompleteAsync(request);

        Assert.False(fresh[0].Cached);
        Assert.True(replayed[0].Cached);
        Assert.Equal("stop", fresh[^1].FinishReason);
        Assert.True(fresh.Count > 4);
        Assert.Equal(whole.Content, string.Concat(fresh.Select(c => c.Content)));
        Assert.Equal(whole.Content, string.Concat(replayed.Select(c => c.Content)));
        Assert.All(fresh, c => Assert.Equal(whole.Id, c.Id));
    }

    [Fact]
    public async Task Debug_scaling_shows_policies_cache_numbers_and_the_replica()
    {
        var (http, _) = await StartChatApiAsync(chatLimit: 100);
        await http.PostAsync("/v1/chat/completions", Question("count me"));
        await http.PostAsync("/v1/chat/completions", Question("count me"));

        var debug = await http.GetFromJsonAsync<JsonElement>("/debug/scaling");

        Assert.True(debug.GetProperty("replica").GetProperty("processorCount").GetInt32() >= 1);
        Assert.Contains(debug.GetProperty("rateLimit").EnumerateArray(), p => p.GetProperty("name").GetString() == "chat-tokens");
        Assert.Equal(1, debug.GetProperty("cache").GetProperty("hits").GetInt32());
        Assert.Equal(1, debug.GetProperty("cache").GetProperty("fills").GetInt32());
    }

    [Fact]
    public async Task Models_lists_the_default_model()
    {
        var (http, _) = await StartChatApiAsync();

        var models = await http.GetFromJsonAsync<JsonElement>("/v1/models");

        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal("platform-sim-1", models.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Tokens_per_window_are_charged_up_front_with_requests_in_one_all_or_nothing_check()
    {
        var (http, _) = await StartChatApiAsync(chatLimit: 10, moreRateLimitSettings:
            [("RateLimit:Policies:chat-tokens:Limit", "60"), ("RateLimit:Policies:chat-tokens:Window", "01:00:00")]);
        StringContent Ask(string text, int maxTokens) => new(
            JsonSerializer.Serialize(new { max_tokens = maxTokens, messages = new[] { new { role = "user", content = text } } }), Encoding.UTF8, "application/json");

        var first = await http.PostAsync("/v1/chat/completions", Ask("four words right here", 40));   // 4 + 40 = 44 of 60
        var second = await http.PostAsync("/v1/chat/completions", Ask("four more words here", 40));   // 44 > 16 left
        var third = await http.PostAsync("/v1/chat/completions", Ask("a short one", 5));              // 3 + 5 = 8

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("16", first.Headers.GetValues("X-RateLimit-Remaining-Tokens").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("\"chat-tokens\";q=60", second.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal("8", third.Headers.GetValues("X-RateLimit-Remaining").Single()); // the denied request cost no request
        Assert.Equal("8", third.Headers.GetValues("X-RateLimit-Remaining-Tokens").Single());
    }

    [Fact]
    public async Task Requests_past_the_limit_get_429_with_retry_after_and_rate_limit_headers()
    {
        var (http, _) = await StartChatApiAsync();

        for (var i = 0; i < ChatLimit; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v1/chat/completions", Question($"q{i}"))).StatusCode);
        }
        var denied = await http.PostAsync("/v1/chat/completions", Question("one too many"));

        Assert.Equal(HttpStatusCode.TooManyRequests, denied.StatusCode);
        Assert.InRange(int.Parse(denied.Headers.GetValues("Retry-After").Single()), 1, 3600);
        Assert.Equal(ChatLimit.ToString(), denied.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.Equal("0", denied.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal($"\"chat\";q={ChatLimit}", denied.Headers.GetValues("RateLimit-Policy").Single());
        Assert.StartsWith("\"chat\";r=0;t=", denied.Headers.GetValues("RateLimit").Single());
        var error = (await denied.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Malformed_json_and_missing_messages_get_400_problem_bodies_naming_the_field()
    {
        var (http, _) = await StartChatApiAsync();

        var malformed = await http.PostAsync("/v1/chat/completions", new StringContent("{\"messages\": [", Encoding.UTF8, "application/json"));
        var missing = await http.PostAsync("/v1/chat/completions", new StringContent("{\"model\":\"platform-sim-1\"}", Encoding.UTF8, "application/json"));
        var badRole = await http.PostAsync("/v1/chat/completions", new StringContent("{\"messages\":[{\"role\":\"robot\",\"content\":\"hi\"}]}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType!.MediaType);
        Assert.Equal("invalid_json", (await malformed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var missingBody = await missing.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("messages", missingBody.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(400, missingBody.GetProperty("status").GetInt32());
        Assert.Equal("messages[0].role", (await badRole.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Grpc_complete_shares_the_cache_and_reports_limits_as_resource_exhausted()
    {
        var (_, grpc) = await StartChatApiAsync();
        var request = new CompleteRequest { Messages = { new Message { Role = "user", Content = "over gRPC " + Guid.NewGuid() } } };

        var first = await grpc.CompleteAsync(request);
        var second = await grpc.CompleteAsync(request);
        await grpc.CompleteAsync(new CompleteRequest { Messages = { new Message { Role = "user", Content = "third" } } });
        var (code, details) = await Rpc.FailureOf(() => grpc.CompleteAsync(request).ResponseAsync);
        var (invalidCode, invalidDetails) = await Rpc.FailureOf(() => grpc.CompleteAsync(new CompleteRequest()).ResponseAsync);

        Assert.False(first.Cached);
        Assert.True(second.Cached);
        Assert.Equal(first.Content, second.Content);
        Assert.Equal(StatusCode.ResourceExhausted, code);
        Assert.True(details!.GetDetail<RetryInfo>().RetryDelay.ToTimeSpan() > TimeSpan.Zero);
        Assert.Equal(StatusCode.InvalidArgument, invalidCode);
        Assert.Equal(["messages"], invalidDetails.ViolatedFields());
    }
}
