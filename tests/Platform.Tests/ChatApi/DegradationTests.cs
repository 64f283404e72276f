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
    }
}
