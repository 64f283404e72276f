using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.ChatApi.Http;

// The subset of OpenAI's chat completion wire format that the gateway serves.

public sealed record ChatCompletionRequest(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("messages")] List<ChatCompletionRequestMessage?>? Messages,
    [property: JsonPropertyName("temperature")] double? Temperature,
    [property: JsonPropertyName("max_tokens")] int? MaxTokens,
    [property: JsonPropertyName("max_completion_tokens")] int? MaxCompletionTokens,
    [property: JsonPropertyName("stream")] bool? Stream,
    [property: JsonPropertyName("user")] string? User);

/// <summary>A message as sent: content is a string, or (newer SDKs) an array of parts of which the text ones count.</summary>
public sealed record ChatCompletionRequestMessage(
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("content")] JsonElement? Content)
{
    public string Text => Content switch
    {
        { ValueKind: JsonValueKind.String } text => text.GetString() ?? "",
        { ValueKind: JsonValueKind.Array } parts => string.Concat(parts.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var type) && type.ValueEquals("text")
                        && p.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => "",
    };
}

public sealed record ChatCompletionMessage(
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("content")] string? Content);

public sealed record ChatCompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatCompletionChoice> Choices,
    [property: JsonPropertyName("usage")] ChatCompletionUsage Usage)
{
    public static ChatCompletionResponse From(ChatCompletion completion) => new(
        completion.Id, "chat.completion", completion.Created, completion.Model,
        [new ChatCompletionChoice(0, new ChatCompletionMessage("assistant", completion.Content), completion.FinishReason)],
        new ChatCompletionUsage(completion.PromptTokens, completion.CompletionTokens, completion.PromptTokens + completion.CompletionTokens));
}

public sealed record ChatCompletionChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatCompletionMessage Message,
    [property: JsonPropertyName("finish_reason")] string FinishReason);

public sealed record ChatCompletionUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

/// <summary>OpenAI's error object, carried inside an RFC 9457 problem body so both kinds of client understand it.</summary>
public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
