using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.Cache.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests.ChatApi;

/// <summary>What callers get when something behind the gateway fails or a request is odd: a clear status, never a 500.</summary>
public sealed class FailureResponsesTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    HttpClient StartChatApi(params (string Key, string? Value)[] chatSettings)
    {
        redis.RequireAvailable();
        var ratelimit = Start<RateLimiterService>(redis).Addresses[0].ToString();
        var cache = Start<CacheService>(redis).Addresses[0].ToString();
        var chat = Track(ChatApiHost.Start(ratelimit, cache, chatSettings.ToDictionary(s => s.Key, s => s.Value)));
        return Track(new HttpClient { BaseAddress = chat.HttpAddress });
    }

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    static async Task<string?> ErrorCode(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString();

    [Fact]
    public async Task A_failing_model_is_502_and_leaves_no_lease_behind_and_a_stream_ends_with_an_error_event()
    {
        var http = StartChatApi(
            ("Chat:Upstream:Endpoint", $"http://127.0.0.1:{RedisFixture.FreePort()}/v1"), ("Chat:Upstream:Model", "gone"),
            ("Chat:CacheLeaseTtl", "00:05:00"));
        var question = $$"""{"messages":[{"role":"user","content":"anyone there? {{Guid.NewGuid()}}"}]}""";

        var first = await http.PostAsync("/v1/chat/completions", Json(question));
        // Same question again: had the first left its cache lease held, this would wait five minutes for it.
        var second = await http.PostAsync("/v1/chat/completions", Json(question));
        var streamed = await http.PostAsync("/v1/chat/completions", Json(question.Replace("{\"messages\"", "{\"stream\":true,\"messages\"")));
        var events = await streamed.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        Assert.Equal("upstream_error", await ErrorCode(first));
        Assert.Equal(HttpStatusCode.BadGateway, second.StatusCode);
        Assert.Contains("\"code\":\"upstream_error\"", events);
        Assert.DoesNotContain("[DONE]", events);
    }

    [Fact]
    public async Task A_missing_tokens_policy_is_503_not_a_free_pass()
    {
        var http = StartChatApi(("Chat:TokensPolicy", "no-such-policy"));

        var response = await http.PostAsync("/v1/chat/completions", Json("""{"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("service_unavailable", await ErrorCode(response));
    }

    [Fact]
    public async Task Null_messages_are_400_and_content_parts_are_read_as_text()
    {
        var http = StartChatApi();

        var nullMessage = await http.PostAsync("/v1/chat/completions", Json("""{"messages":[null]}"""));
        var parts = await http.PostAsync("/v1/chat/completions", Json("""{"messages":[{"role":"user","content":[{"type":"text","text":"in parts"}]}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, nullMessage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, parts.StatusCode);
        Assert.Contains("in parts", (await parts.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_request_over_its_route_deadline_is_504_with_an_error_body()
    {
        // The model takes an hour; the chat route allows a fraction of a second.
        var http = StartChatApi(("Chat:Simulated:Latency", "01:00:00"), ("Chat:RouteTimeouts:ChatCompletions", "00:00:00.300"));

        var response = await http.PostAsync("/v1/chat/completions", Json("{\"messages\":[{\"role\":\"user\",\"content\":\"take your time\"}]}"));
        var models = await http.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout", await ErrorCode(response));
        Assert.Equal(HttpStatusCode.OK, models.StatusCode); // other routes keep their own deadline
    }
}
