using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Platform.ChatApi.Voice;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Admission;

namespace Platform.ChatApi.Http;

/// <summary>
/// Voice messages: POST /v1/audio/messages (raw WAV/MP3 body or multipart with a "file" field) → 202;
/// GET /v1/audio/messages/{id} (state, position, estimated wait, progress, result);
/// GET /v1/audio/messages/{id}/events (Server-Sent Events of the same, until it is final);
/// GET /v1/audio/messages/{id}/audio (the processed 16 kHz WAV).
/// </summary>
public static class VoiceMessagesEndpoint
{
    public static void MapVoiceMessages(this WebApplication app)
    {
        var group = app.MapGroup("/v1/audio/messages").WithTags("Voice messages");
        group.MapPost("", SubmitAsync)
            .WithSummary("Uploads a voice message for processing")
            .WithDescription("Body: the audio (Content-Type audio/wav or audio/mpeg), or multipart/form-data with a \"file\" field. " +
                             "Optional Idempotency-Key header. Answers 202 with the message's id, queue position and estimated wait.")
            // No Accepts(...) metadata: routing would answer other content types with a bare 415, and
            // the handler's 415 says what to send instead.
            .Produces<VoiceMessage>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithRequestTimeout(RouteTimeoutOptions.VoiceUpload)
            .WithMetadata(new AdmissionClassAttribute(RouteTimeoutOptions.VoiceUpload))
            .DisableAntiforgery();
        group.MapGet("/{id}", GetAsync)
            .WithSummary("A voice message's state, queue position, estimated wait, progress and result")
            .Produces<VoiceMessage>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestTimeout(RouteTimeoutOptions.Read)
            .WithMetadata(new AdmissionClassAttribute(RouteTimeoutOptions.Read));
        group.MapGet("/{id}/events", EventsAsync)
            .WithSummary("Server-Sent Events: the message now and at every change, until it is final")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .DisableRequestTimeout()
            .WithMetadata(new AdmissionClassAttribute("events")); // long-lived: a class of its own
        group.MapGet("/{id}/audio", AudioAsync)
            .WithSummary("The processed audio (16 kHz mono WAV) of a message that succeeded")
            .Produces(StatusCodes.Status200OK, contentType: "audio/wav")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestTimeout(RouteTimeoutOptions.Read)
            .WithMetadata(new AdmissionClassAttribute(RouteTimeoutOptions.Read));
    }

    static async Task<IResult> SubmitAsync(HttpContext http, VoiceMessages voice, ApiKeys apiKeys, IOptionsMonitor<ChatGatewayOptions> options, CancellationToken cancellationToken)
    {
        if (apiKeys.Identify(http) is not { } caller)
        {
            return OpenAiProblem.Unauthorized(http);
        }
        var maxBytes = options.CurrentValue.Voice.MaxAudioBytes;
        // Room for the multipart envelope; the audio itself is checked below. A declared length over it is
        // refused before the limit is lowered, so the server still drains the body and the client reads the 413.
        if (http.Request.ContentLength > maxBytes + 64 * 1024)
        {
            return TooLarge(maxBytes);
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = maxBytes + 64 * 1024;
        }

        byte[] audio;
        string? contentType;
        try
        {
            (audio, contentType) = await ReadAudioAsync(http.Request, maxBytes, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(maxBytes);
        }
        catch (InvalidDataException e) when (e.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
        {
            return TooLarge(maxBytes); // the file part is over the limit
        }
        catch (InvalidDataException e)
        {
            return Error(StatusCodes.Status400BadRequest, $"The multipart body could not be read: {e.Message}", "invalid_multipart");
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            // A body that ends early: a multipart body without its closing boundary, a truncated chunked body.
            return http.Request.HasFormContentType
                ? Error(StatusCodes.Status400BadRequest, $"The multipart body could not be read: {e.Message}", "invalid_multipart")
                : Error(StatusCodes.Status400BadRequest, $"The request body could not be read: {e.Message}", "invalid_body");
        }
        if (audio.Length > maxBytes)
        {
            return TooLarge(maxBytes);
        }
        if (contentType is null || !AudioContentTypes.Known.TryGetValue(contentType, out var normalized))
        {
            return Error(StatusCodes.Status415UnsupportedMediaType,
                $"Unsupported audio type '{contentType}': send audio/wav or audio/mpeg (as the body's Content-Type, or as the \"file\" part's).", "unsupported_media_type");
        }
        if (audio.Length == 0)
        {
            return Error(StatusCodes.Status400BadRequest, "The audio is empty.", "empty_audio");
        }

        try
        {
            var idempotencyKey = http.Request.Headers["Idempotency-Key"].FirstOrDefault();
            if (idempotencyKey is { Length: > 256 })
            {
                return Error(StatusCodes.Status400BadRequest, "Idempotency-Key: at most 256 characters.", "invalid_idempotency_key");
            }
            var (message, limited) = await voice.SubmitAsync(caller, audio, normalized, idempotencyKey, cancellationToken);
            if (limited is not null)
            {
                RateLimitHeaders.Write(http.Response.Headers, limited);
                OpenAiProblem.WriteRetryAfter(http.Response, limited.RetryAfter);
                var why = limited.Policy == options.CurrentValue.Voice.InFlightPolicy
                    ? $"Too many voice messages in progress (at most {limited.Limit} at once, policy '{limited.Policy}')."
                    : $"Rate limit reached for voice messages (policy '{limited.Policy}', limit {limited.Limit} per window).";
                return Error(StatusCodes.Status429TooManyRequests, $"{why} Retry after {limited.RetryAfter.TotalSeconds:0.#} s.", "rate_limit_exceeded", "rate_limit_exceeded");
            }
            http.Response.Headers.Location = $"/v1/audio/messages/{message!.Id}";
            return Results.Json(message, VoiceMessage.Json, statusCode: StatusCodes.Status202Accepted);
        }
        catch (VoiceRejectedException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message, "invalid_audio");
        }
        catch (VoiceUnavailableException e)
        {
            return Unavailable(http, e);
        }
    }

    /// <summary>The audio and its type: the first file part of a multipart body, or the raw body.</summary>
    static async Task<(byte[] Audio, string? ContentType)> ReadAudioAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { MultipartBodyLengthLimit = maxBytes + 1 }, cancellationToken);
            var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
            if (file is null)
            {
                return ([], "multipart/form-data without a file");
            }
            using var buffer = new MemoryStream((int)Math.Min(file.Length, maxBytes + 1L));
            await file.CopyToAsync(buffer, cancellationToken);
            var partType = MediaType(file.ContentType ?? "");
            return (buffer.ToArray(), AudioContentTypes.Known.ContainsKey(partType) ? partType : GuessFromName(file.FileName) ?? partType);
        }
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        return (body.ToArray(), request.ContentType is { } raw ? MediaType(raw) : null);
    }

    static string MediaType(string contentType) => contentType.Split(';', 2)[0].Trim();

    /// <summary>Browsers send application/octet-stream (or nothing) for some files; the extension says what it is.</summary>
    static string? GuessFromName(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".wav" => "audio/wav",
        ".mp3" => "audio/mpeg",
        _ => null,
    };

    static async Task<IResult> GetAsync(string id, HttpContext http, VoiceMessages voice, ApiKeys apiKeys, CancellationToken cancellationToken)
    {
        if (apiKeys.Identify(http) is not { } caller)
        {
            return OpenAiProblem.Unauthorized(http);
        }
        try
        {
            return await voice.GetAsync(caller, id, cancellationToken) is { } message
                ? Results.Json(message, VoiceMessage.Json)
                : NotFound(id);
        }
        catch (VoiceUnavailableException e)
        {
            return Unavailable(http, e);
        }
    }

    static async Task<IResult> EventsAsync(string id, HttpContext http, VoiceMessages voice, ApiKeys apiKeys, CancellationToken cancellationToken)
    {
        if (apiKeys.Identify(http) is not { } caller)
        {
            return OpenAiProblem.Unauthorized(http);
        }
        var started = false;
        try
        {
            await foreach (var message in voice.WatchAsync(caller, id, cancellationToken))
            {
                if (!started)
                {
                    http.Response.ContentType = "text/event-stream";
                    http.Response.Headers.CacheControl = "no-cache";
                    started = true;
                }
                await http.Response.WriteAsync($"data: {JsonSerializer.Serialize(message, VoiceMessage.Json)}\n\n", cancellationToken);
                await http.Response.Body.FlushAsync(cancellationToken);
            }
        }
        catch (VoiceUnavailableException e)
        {
            if (!started)
            {
                return Unavailable(http, e);
            }
            await http.Response.WriteAsync($"event: error\ndata: {JsonSerializer.Serialize(new { message = e.Message })}\n\n", cancellationToken);
        }
        return started ? Results.Empty : NotFound(id);
    }

    static async Task<IResult> AudioAsync(string id, HttpContext http, VoiceMessages voice, ApiKeys apiKeys, CancellationToken cancellationToken)
    {
        if (apiKeys.Identify(http) is not { } caller)
        {
            return OpenAiProblem.Unauthorized(http);
        }
        try
        {
            return await voice.GetAudioAsync(caller, id, cancellationToken) is { } output
                ? Results.Bytes(output.Audio, output.ContentType)
                : NotFound(id);
        }
        catch (VoiceUnavailableException e)
        {
            return Unavailable(http, e);
        }
    }


    static IResult NotFound(string id) =>
        Error(StatusCodes.Status404NotFound, $"No voice message '{id}' (or it has expired).", "not_found");

    static IResult TooLarge(int maxBytes) =>
        Error(StatusCodes.Status413PayloadTooLarge, $"The audio exceeds {maxBytes} bytes (Chat:Voice:MaxAudioBytes).", "request_too_large");

    static IResult Unavailable(HttpContext http, VoiceUnavailableException e)
    {
        OpenAiProblem.WriteRetryAfter(http.Response, e.RetryAfter);
        return Error(StatusCodes.Status503ServiceUnavailable, e.Message, "service_unavailable", "api_error");
    }

    static IResult Error(int status, string message, string code, string type = "invalid_request_error") =>
        OpenAiProblem.Result(status, message, type, code);
}
