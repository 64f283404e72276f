using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Platform.ChatApi.Model;

/// <summary>
/// The embedded model: deterministic replies after a configurable latency, so the whole platform and
/// its load tests run offline. The same conversation always gets the same reply.
/// </summary>
public sealed class SimulatedChatClient(IOptionsMonitor<ChatGatewayOptions> options, TimeProvider time) : IChatClient
{
    static readonly string[] Openings =
    [
        "Here is what I can tell you",
        "Good question",
        "Let me think about that",
        "In short",
        "From what you describe",
    ];

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var conversation = messages.ToList();
        await Task.Delay(options.CurrentValue.Simulated.Latency, time, cancellationToken);
        var (reply, finish) = Compose(conversation, chatOptions);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, reply))
        {
            ModelId = chatOptions?.ModelId,
            FinishReason = finish,
            CreatedAt = time.GetUtcNow(),
            Usage = new UsageDetails
            {
                InputTokenCount = conversation.Sum(m => TokenEstimate.Count(m.Text)),
                OutputTokenCount = TokenEstimate.Count(reply),
                TotalTokenCount = conversation.Sum(m => TokenEstimate.Count(m.Text)) + TokenEstimate.Count(reply),
            },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, chatOptions, cancellationToken);
        foreach (var piece in ChatText.Pieces(response.Text))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ModelId = response.ModelId };
        }
        yield return new ChatResponseUpdate { FinishReason = response.FinishReason, ModelId = response.ModelId };
    }

    static (string Reply, ChatFinishReason Finish) Compose(IReadOnlyList<ChatMessage> conversation, ChatOptions? chatOptions)
    {
        var question = conversation.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var seed = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', conversation.Select(m => $"{m.Role}:{m.Text}"))));
        var reply = $"{Openings[seed[0] % Openings.Length]}: you asked \"{Shorten(question)}\". " +
                    $"This answer comes from the simulated model (reference {Convert.ToHexString(seed, 0, 4).ToLowerInvariant()}).";

        var words = reply.Split(' ');
        if (chatOptions?.MaxOutputTokens is { } max && max < words.Length)
        {
            return (string.Join(' ', words.Take(max)), ChatFinishReason.Length);
        }
        return (reply, ChatFinishReason.Stop);
    }

    static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }
}

/// <summary>How a finished text is streamed: word by word, the pieces adding up to exactly the text.</summary>
public static class ChatText
{
    public static IEnumerable<string> Pieces(string text) => text.Split(' ').Select((word, i) => i == 0 ? word : " " + word);
}

/// <summary>A cheap token estimate (one token per word), used for usage figures and limits.</summary>
public static class TokenEstimate
{
    /// <summary>Whitespace-separated words, counted in place (it runs on every request: no substring per word).</summary>
    public static int Count(string? text)
    {
        var words = 0;
        var inWord = false;
        foreach (var c in text.AsSpan())
        {
            var letter = !char.IsWhiteSpace(c);
            words += letter && !inWord ? 1 : 0;
            inWord = letter;
        }
        return words;
    }
}
