using System.Buffers;
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
        response.Headers["X-Cache"] = CacheStatusHeader.Of(cache);
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

    /// <summary>Each chunk is serialized straight into the response's pipe: no string per piece of the answer.</summary>
    async Task WriteChunkAsync(Delta delta, string? finishReason)
    {
        var body = response.BodyWriter;
        body.Write("data: "u8);
        json ??= new Utf8JsonWriter(body);
        json.Reset(body);
        JsonSerializer.Serialize(json, new Chunk(id, "chat.completion.chunk", created, model, [new ChunkChoice(0, delta, finishReason)]));
        json.Flush();
        body.Write("\n\n"u8);
        await body.FlushAsync();
    }

    Utf8JsonWriter? json;

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
