using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Admission;
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
/// <summary>
/// Every HTTP error ChatApi answers: an RFC 9457 problem body that also carries OpenAI's error object,
/// so both problem-aware clients and OpenAI SDKs read it.
/// </summary>
public static class OpenAiProblem
{
    public static IResult Result(int status, string message, string type, string code, string? param = null) =>
        Results.Problem(
            statusCode: status,
            title: type,
            detail: message,
            extensions: new Dictionary<string, object?> { ["error"] = new OpenAiError(message, type, param, code) });

    public static IResult Unauthorized(HttpContext http)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Result(StatusCodes.Status401Unauthorized, "Missing or invalid API key. Send Authorization: Bearer <key>.", "invalid_request_error", "invalid_api_key");
    }

    /// <summary>
    /// Errors answered before any handler runs — 415 from routing for a chat request that is not JSON, 404 for
    /// an unknown route, 405 for a wrong method — get the same problem + OpenAI error body as every other error,
    /// instead of an empty response.
    /// </summary>
    public static Task WriteBareStatusAsync(Microsoft.AspNetCore.Diagnostics.StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var (message, code) = status switch
        {
            StatusCodes.Status415UnsupportedMediaType => ($"Unsupported Content-Type '{http.Request.ContentType?[..Math.Min(http.Request.ContentType.Length, 100)]}': this route takes application/json.", "unsupported_media_type"),
            StatusCodes.Status404NotFound => ("No such route.", "not_found"),
            StatusCodes.Status405MethodNotAllowed => ($"Method {http.Request.Method} is not allowed on this route.", "method_not_allowed"),
            _ => (Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status), "http_" + status),
        };
        return Result(status, message, "invalid_request_error", code).ExecuteAsync(http);
    }

    /// <summary>
    /// A request refused at the door under load (admission control): HTTP callers get 503 with Retry-After and
    /// OpenAI's error shape (type "overloaded", which OpenAI SDKs retry after the hint); gRPC callers get the
    /// platform's RESOURCE_EXHAUSTED with RetryInfo.
    /// </summary>
    public static Task WriteOverloadedAsync(AdmissionRefusal refusal)
    {
        if (StatusResponses.IsGrpc(refusal.Http.Request))
        {
            return AdmissionMiddleware.WriteRefusalAsync(refusal);
        }
        refusal.Http.Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Result(StatusCodes.Status503ServiceUnavailable,
            $"The server is overloaded ('{refusal.ClassName}' requests are at their limit on this replica). Retry after {refusal.RetryAfterSeconds} s.",
            "overloaded", "overloaded").ExecuteAsync(refusal.Http);
    }

    /// <summary>Retry-After in whole seconds, at least one (RFC 9110).</summary>
    public static void WriteRetryAfter(HttpResponse response, TimeSpan after) =>
        response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
