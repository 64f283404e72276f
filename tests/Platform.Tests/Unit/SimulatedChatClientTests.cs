using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Platform.ChatApi;
using Platform.ChatApi.Model;

namespace Platform.Tests.Unit;

public sealed class SimulatedChatClientTests
{
    static readonly ChatMessage[] Question = [new(ChatRole.User, "What is GCRA?")];

    static (SimulatedChatClient Client, FakeTimeProvider Time) Create(TimeSpan latency)
    {
        var time = new FakeTimeProvider();
        var options = new ChatGatewayOptions { Simulated = { Latency = latency } };
        return (new SimulatedChatClient(new StaticOptionsMonitor<ChatGatewayOptions>(options), time), time);
    }

    [Fact]
    public async Task Answers_only_after_the_configured_latency()
    {
        var (client, time) = Create(TimeSpan.FromMilliseconds(800));

        var answer = client.GetResponseAsync(Question, cancellationToken: TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromMilliseconds(799));
        var doneEarly = answer.IsCompleted;
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.False(doneEarly);
        Assert.Contains("What is GCRA?", (await answer).Text);
    }

    [Fact]
    public async Task Same_conversation_same_reply_and_usage_adds_up()
    {
        var (client, _) = Create(TimeSpan.Zero);

        var first = await client.GetResponseAsync(Question, cancellationToken: TestContext.Current.CancellationToken);
        var second = await client.GetResponseAsync(Question, cancellationToken: TestContext.Current.CancellationToken);
        var other = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Something else")], cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(first.Text, second.Text);
        Assert.NotEqual(first.Text, other.Text);
        Assert.Equal(ChatFinishReason.Stop, first.FinishReason);
        Assert.Equal(first.Usage!.InputTokenCount + first.Usage.OutputTokenCount, first.Usage.TotalTokenCount);
        Assert.Equal(TokenEstimate.Count(first.Text), first.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Max_output_tokens_cuts_the_reply_with_finish_reason_length()
    {
        var (client, _) = Create(TimeSpan.Zero);

        var cut = await client.GetResponseAsync(Question, new ChatOptions { MaxOutputTokens = 3 }, TestContext.Current.CancellationToken);

        Assert.Equal(3, TokenEstimate.Count(cut.Text));
        Assert.Equal(ChatFinishReason.Length, cut.FinishReason);
    }

    [Fact]
    public async Task Streaming_yields_the_same_reply_word_by_word()
    {
        var (client, _) = Create(TimeSpan.Zero);

        var whole = await client.GetResponseAsync(Question, cancellationToken: TestContext.Current.CancellationToken);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Question, cancellationToken: TestContext.Current.CancellationToken))
        {
            updates.Add(update);
        }

        Assert.True(updates.Count > 2);
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)).TrimEnd());
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }
}

/// <summary>Fixed options for unit tests.</summary>
public sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;
    public T Get(string? name) => value;
    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
