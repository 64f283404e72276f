using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.Cache.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests.ChatApi;

/// <summary>
/// ChatApi with an OpenAI-compatible upstream provider configured. The provider here is a second ChatApi
/// (it speaks the same API) whose simulated model is named "provider-model"; the gateway's own simulated
/// model would take an hour, so a prompt answer can only come from upstream.
/// </summary>
public sealed class UpstreamProviderTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task Answers_and_streams_come_from_the_configured_provider()
    {
        redis.RequireAvailable();
        var ratelimit = Start<RateLimiterService>(redis).Addresses[0].ToString();
        var cache = Start<CacheService>(redis).Addresses[0].ToString();
        var provider = Track(ChatApiHost.Start(ratelimit, cache, new Dictionary<string, string?>
        {
            ["Chat:DefaultModel"] = "provider-model", ["Chat:ApiKeys"] = "gateway=sk-provider", ["Chat:CacheNamespace"] = "provider",
        }));
        var gateway = Track(ChatApiHost.Start(ratelimit, cache, new Dictionary<string, string?>
        {
            ["Chat:Simulated:Latency"] = "01:00:00",
            ["Chat:Upstream:Endpoint"] = new Uri(provider.HttpAddress, "/v1").ToString(),
            ["Chat:Upstream:Model"] = "provider-model",
            ["Chat:Upstream:ApiKey"] = "sk-provider",
        }));
        var http = Track(new HttpClient { BaseAddress = gateway.HttpAddress });
        StringContent Ask(string text, bool stream) => new(
            JsonSerializer.Serialize(new { stream, messages = new[] { new { role = "user", content = text } } }), Encoding.UTF8, "application/json");

        var models = await http.GetFromJsonAsync<JsonElement>("/v1/models");
        var answer = await http.PostAsync("/v1/chat/completions", Ask("via upstream " + Guid.NewGuid(), stream: false));
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        var streamed = await http.PostAsync("/v1/chat/completions", Ask("streamed via upstream " + Guid.NewGuid(), stream: true));
        var events = await streamed.Content.ReadAsStringAsync();

        Assert.Equal("provider-model", models.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("via upstream", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("provider-model", body.GetProperty("model").GetString());
        Assert.Contains("streamed", events);
        Assert.EndsWith("data: [DONE]\n\n", events);
    }
}
