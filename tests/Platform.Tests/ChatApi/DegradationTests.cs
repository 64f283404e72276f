using System.Net;
using System.Text;
using Platform.Tests.Support;

namespace Platform.Tests.ChatApi;

public sealed class DegradationTests : HostedTest
{
    [Fact]
    public async Task Chat_keeps_answering_when_ratelimit_and_cache_are_unreachable()
    {
        // Nothing listens on these ports: every call to RateLimit and Cache fails.
        var nowhere = $"http://127.0.0.1:{RedisFixture.FreePort()}";
        var chat = Track(ChatApiHost.Start(nowhere, nowhere));
        var http = Track(new HttpClient { BaseAddress = chat.HttpAddress });

        var response = await http.PostAsync("/v1/chat/completions",
            new StringContent("{\"messages\":[{\"role\":\"user\",\"content\":\"still there?\"}]}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("BYPASS", response.Headers.GetValues("X-Cache").Single());
        Assert.False(response.Headers.Contains("X-RateLimit-Limit"));
        var health = await http.GetAsync("/health", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode); // still serving...
        var body = await health.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal("Degraded", HealthBody.Status(body)); // ...with less
        var (status, reason) = HealthBody.Check(body, "degraded-decisions"); // the fail-open answer counts
        Assert.Equal("Degraded", status);
        Assert.StartsWith("2 decisions taken without a dependency", reason); // rate limit and cache
    }

    [Fact]
    public async Task Cors_lets_configured_origins_read_the_cache_and_limit_headers_and_no_others()
    {
        var nowhere = $"http://127.0.0.1:{RedisFixture.FreePort()}";
        var chat = Track(ChatApiHost.Start(nowhere, nowhere, new Dictionary<string, string?> { ["Chat:CorsOrigins:0"] = "https://app.example" }));
        var http = Track(new HttpClient { BaseAddress = chat.HttpAddress });
        HttpRequestMessage Preflight(string origin) => new(HttpMethod.Options, "/v1/chat/completions")
        {
            Headers = { { "Origin", origin }, { "Access-Control-Request-Method", "POST" }, { "Access-Control-Request-Headers", "content-type,authorization" } },
        };

        var allowed = await http.SendAsync(Preflight("https://app.example"));
        var other = await http.SendAsync(Preflight("https://elsewhere.example"));
        var actual = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Headers = { { "Origin", "https://app.example" } },
            Content = new StringContent("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", Encoding.UTF8, "application/json"),
        });

        Assert.Equal("https://app.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Contains("X-Cache", actual.Headers.GetValues("Access-Control-Expose-Headers").Single());
    }
}
