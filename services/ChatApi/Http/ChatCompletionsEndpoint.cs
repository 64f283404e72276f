using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Platform.ServiceDefaults.Admission;

namespace Platform.ChatApi.Http;

/// <summary>
/// POST /v1/chat/completions, OpenAI-compatible: existing OpenAI SDKs work by changing the base URL.
/// With "stream": true the answer arrives as Server-Sent Events; a cached answer is replayed as a stream.
/// </summary>
public static class ChatCompletionsEndpoint
{
    public static void MapChatCompletions(this WebApplication app) =>
        app.MapPost("/v1/chat/completions", HandleAsync)
            .WithSummary("Creates a chat completion (OpenAI-compatible)")
            .WithDescription("Rate limited per API key (or client address); answers cached by a hash of the conversation. " +
                             "With \"stream\": true the answer is sent as Server-Sent Events. Cache-Control: no-cache, no-store, max-age=N.")
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<ChatCompletionResponse>()
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .WithRequestTimeout(RouteTimeoutOptions.Chat)
            .WithMetadata(new AdmissionClassAttribute(RouteTimeoutOptions.Chat));

    static async Task<IResult> HandleAsync(HttpContext http, ChatPipeline pipeline, ApiKeys apiKeys, IOptionsMonitor<ChatGatewayOptions> options, CancellationToken cancellationToken)
    {
        if (apiKeys.Identify(http) is not { } caller)
        {
            return OpenAiProblem.Unauthorized(http);
        }

        var maxBytes = options.CurrentValue.MaxRequestBytes;
        // A declared length over the limit is refused before the limit is lowered, so the server still
        // drains the body and the client reads the 413 instead of a reset connection.
        if (http.Request.ContentLength > maxBytes)
        {
            return TooLarge(maxBytes);
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = maxBytes;
        }

        ChatCompletionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<ChatCompletionRequest>(http.Request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return Error(StatusCodes.Status400BadRequest, $"Request body is not valid JSON for a chat completion: {e.Message}",
                "invalid_request_error", e.Path, "invalid_json");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(maxBytes);
        }

        if (request is null)
        {
            return Error(StatusCodes.Status400BadRequest, "Request body is required.", "invalid_request_error", null, "invalid_json");
        }
        var turn = new ChatTurn(
            request.Model,
            request.Messages?.Select(m => new ChatTurnMessage(m?.Role ?? "", m?.Text ?? "")).ToList() ?? [],
            request.Temperature,
            request.MaxCompletionTokens ?? request.MaxTokens,
            request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens");
        var problems = pipeline.Validate(turn);
        if (problems.Count > 0)
        {
            return Error(StatusCodes.Status400BadRequest, string.Join("; ", problems.Select(p => $"{p.Field}: {p.Problem}")),
                "invalid_request_error", problems[0].Field, "invalid_value");
        }

        var stream = request.Stream == true ? new ServerSentChatStream(http.Response) : null;
        ChatOutcome outcome;
        try
        {
            outcome = await pipeline.CompleteAsync(turn, caller, CachePolicyOf(http.Request), stream, cancellationToken);
        }
        catch (ChatOverloadedException e) when (stream is not { Started: true })
        {
            OpenAiProblem.WriteRetryAfter(http.Response, e.RetryAfter);
            return Error(StatusCodes.Status503ServiceUnavailable, e.Message + " (shed before any work was done)", "overloaded", null, "overloaded");
        }
        catch (ChatUnavailableException e)
        {
            var (status, code) = e.Upstream ? (StatusCodes.Status502BadGateway, "upstream_error") : (StatusCodes.Status503ServiceUnavailable, "service_unavailable");
            if (stream is { Started: true })
            {
                await stream.FailAsync(e.Message, code); // headers are gone: the error travels in the stream
                return Results.Empty;
            }
            return Error(status, e.Message, "api_error", null, code);
        }
        if (stream is { Started: true } && outcome.Completion is { } streamed)
        {
            await stream.FinishAsync(streamed.FinishReason);
            return Results.Empty;
        }
        RateLimitHeaders.Write(http.Response.Headers, outcome.RateLimit);
        if (outcome.Completion is null)
        {
            OpenAiProblem.WriteRetryAfter(http.Response, outcome.RateLimit.RetryAfter);
            return Error(StatusCodes.Status429TooManyRequests,
                $"Rate limit reached for policy '{outcome.RateLimit.Policy}' (limit {outcome.RateLimit.Limit} per window). Retry after {outcome.RateLimit.RetryAfter.TotalSeconds:0.#} s.",
                "rate_limit_exceeded", null, "rate_limit_exceeded");
        }

        http.Response.Headers["X-Cache"] = CacheStatusHeader.Of(outcome.Cache);
        // Server-Timing (W3C): how much of the response time was the model's, so callers and load tests
        // can tell the gateway's own share.
        http.Response.Headers["Server-Timing"] = $"model;dur={outcome.ModelTime.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)}";
        return Results.Json(ChatCompletionResponse.From(outcome.Completion));
    }

    /// <summary>
    /// Cache-Control on the request: no-cache skips the cache read, no-store the write, max-age=N keeps
    /// the answer N seconds (1 s to 7 days; 0 means do not keep it).
    /// </summary>
    static CachePolicy CachePolicyOf(HttpRequest request)
    {
        if (!CacheControlHeaderValue.TryParse(request.Headers.CacheControl.ToString(), out var header) || header is null)
        {
            return CachePolicy.Default;
        }
        var ttl = header.MaxAge is { } maxAge ? Clamp(maxAge, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7)) : (TimeSpan?)null;
        return new CachePolicy(Read: !header.NoCache, Write: !header.NoStore && header.MaxAge != TimeSpan.Zero, ttl);
    }

    static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    static IResult TooLarge(long maxBytes) =>
        Error(StatusCodes.Status413PayloadTooLarge, $"Request body exceeds {maxBytes} bytes.", "invalid_request_error", null, "request_too_large");

    static IResult Error(int status, string message, string type, string? param, string code) =>
        OpenAiProblem.Result(status, message, type, code, param);
}

/// <summary>X-RateLimit-* and the IETF draft RateLimit / RateLimit-Policy fields, on every answer.</summary>
public static class RateLimitHeaders
{
    public static void Write(IHeaderDictionary headers, RateLimitState state)
    {
        if (state.Degraded)
        {
            return; // RateLimit could not be asked: there are no numbers to report.
        }
        var window = (long)Math.Ceiling(state.ResetAfter.TotalSeconds);
        headers["X-RateLimit-Limit"] = state.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = state.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = window.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Policy"] = $"\"{state.Policy}\";q={state.Limit}";
        headers["RateLimit"] = $"\"{state.Policy}\";r={state.Remaining};t={window}";
        if (state.TokensLimit is { } tokensLimit)
        {
            // OpenAI's names for the token budget, so SDKs that read them keep working.
            headers["X-RateLimit-Limit-Tokens"] = tokensLimit.ToString(CultureInfo.InvariantCulture);
            headers["X-RateLimit-Remaining-Tokens"] = state.TokensRemaining.GetValueOrDefault().ToString(CultureInfo.InvariantCulture);
        }
    }
}
