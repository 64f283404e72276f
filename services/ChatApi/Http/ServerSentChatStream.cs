using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.ChatApi.Http;

/// <summary>
/// Writes an answer as OpenAI's Server-Sent Events: chat.completion.chunk objects (first the role, then
/// each piece, then the finish reason), ending with <c>data: [DONE]</c>.
/// </summary>
public sealed class ServerSentChatStream(HttpResponse response) : IChatStreamSink
{
    string id = "", model = "";
    long created;

    public bool Started { get; private set; }

    public async Task StartAsync(RateLimitState rateLimit, CacheStatus cache, string id, string model, long created)
    {
        (this.id, this.model, this.created, Started) = (id, model, created, true);
        RateLimitHeaders.Write(response.Headers, rateLimit);
        response.Headers["X-Cache"] = cache.ToString().ToUpperInvariant();
        response.Headers.CacheControl = "no-cache";
        response.ContentType = "text/event-stream";
        await WriteChunkAsync(new Delta("assistant", null), finishReason: null);
    }

    public Task PieceAsync(string text) => WriteChunkAsync(new Delta(null, text), finishReason: null);

    public async Task FinishAsync(string finishReason)
    {
        await WriteChunkAsync(new Delta(null, null), finishReason);
        await response.WriteAsync("data: [DONE]\n\n");
        await response.Body.FlushAsync();
    }

    /// <summary>Ends a started stream with OpenAI's error object instead of a finish reason.</summary>
    public async Task FailAsync(string message, string code)
    {
        await response.WriteAsync("data: " + JsonSerializer.Serialize(new { error = new OpenAiError(message, "api_error", null, code) }) + "\n\n");
        await response.Body.FlushAsync();
    }

    async Task WriteChunkAsync(Delta delta, string? finishReason)
    {
        var chunk = new Chunk(id, "chat.completion.chunk", created, model, [new ChunkChoice(0, delta, finishReason)]);
        await response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n");
        await response.Body.FlushAsync();
    }

    sealed record Chunk(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("object")] string Object,
        [property: JsonPropertyName("created")] long Created,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("choices")] IReadOnlyList<ChunkChoice> Choices);

    sealed record ChunkChoice(
        [property: JsonPropertyName("index")] int Index,
        [property: JsonPropertyName("delta")] Delta Delta,
        [property: JsonPropertyName("finish_reason")] string? FinishReason);

    sealed record Delta(
        [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
        [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);
}
