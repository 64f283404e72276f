using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using Platform.Cache.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests.ChatApi;

/// <summary>The official OpenAI .NET client against ChatApi, changing nothing but the base URL and key.</summary>
public sealed class OpenAiClientTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    const string Key = "sk-platform-test";

    ChatClient Client(string key = Key, int chatLimit = 100)
    {
        redis.RequireAvailable();
        var ratelimit = Start<RateLimiterService>(redis, ("RateLimit:Policies:chat:Limit", chatLimit.ToString()), ("RateLimit:Policies:chat:Window", "01:00:00"));
        var cache = Start<CacheService>(redis);
        var chat = Track(ChatApiHost.Start(ratelimit.Addresses[0].ToString(), cache.Addresses[0].ToString(), apiKeys: $"team-a={Key};team-b=sk-other"));
        return new ChatClient("platform-sim-1", new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(chat.HttpAddress, "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // show each answer as it is
        });
    }

    [Fact]
    public async Task Completion_and_streaming_work_through_the_official_client()
    {
        await redis.FlushAsync(); // both tests call as team-a: each starts with a fresh limit
        var client = Client();
        var question = "Hello from the OpenAI SDK " + Guid.NewGuid();

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage(question)]);
        var streamed = new List<string>();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(question)]))
        {
            streamed.AddRange(update.ContentUpdate.Select(part => part.Text));
        }

        Assert.Contains(question, completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.TotalTokenCount > 0);
        Assert.Equal(completion.Content[0].Text, string.Concat(streamed));
    }

    [Fact]
    public async Task Errors_map_to_the_statuses_the_client_expects()
    {
        await redis.FlushAsync();
        var wrongKey = await Assert.ThrowsAsync<ClientResultException>(() => Client(key: "sk-wrong").CompleteChatAsync([new UserChatMessage("hi")]));
        var limited = Client(chatLimit: 1);
        await limited.CompleteChatAsync([new UserChatMessage("first")]);
        var tooMany = await Assert.ThrowsAsync<ClientResultException>(() => limited.CompleteChatAsync([new UserChatMessage("second")]));
        var invalid = await Assert.ThrowsAsync<ClientResultException>(() =>
            Client().CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 0 }));

        Assert.Equal(401, wrongKey.Status);
        Assert.Equal(429, tooMany.Status);
        Assert.Equal(400, invalid.Status);
        Assert.Contains("max_completion_tokens", invalid.Message); // the SDK's name for it
    }
}
