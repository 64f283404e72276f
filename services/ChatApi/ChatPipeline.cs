using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Platform.Cache.V1;
using Platform.ChatApi.Model;
using Platform.RateLimit.V1;
using Platform.ServiceDefaults.Health;

namespace Platform.ChatApi;

public sealed record ChatTurnMessage(string Role, string Content);

/// <summary>One chat request, whichever API it came through.</summary>
/// <param name="MaxTokensField">The name the caller used for MaxTokens (OpenAI has two), for error messages.</param>
public sealed record ChatTurn(string? Model, IReadOnlyList<ChatTurnMessage> Messages, double? Temperature, int? MaxTokens, string MaxTokensField = "max_tokens");

/// <summary>A finished reply, as returned to callers and as stored in the response cache.</summary>
public sealed record ChatCompletion(string Id, string Model, string Content, string FinishReason, int PromptTokens, int CompletionTokens, long Created);

public enum CacheStatus { Hit, Miss, Bypass }

public static class CacheStatusHeader
{
    /// <summary>The X-Cache header value: HIT, MISS or BYPASS.</summary>
    public static string Of(CacheStatus status) => status switch { CacheStatus.Hit => "HIT", CacheStatus.Miss => "MISS", _ => "BYPASS" };
}

/// <summary>What a request allows of the response cache (HTTP Cache-Control: no-cache, no-store, max-age).</summary>
/// <param name="Read">False for no-cache: always ask the model.</param>
/// <param name="Write">False for no-store (or max-age=0): do not keep the answer.</param>
/// <param name="Ttl">How long to keep the answer; null means Chat:CacheTtl.</param>
public sealed record CachePolicy(bool Read, bool Write, TimeSpan? Ttl)
{
    public static readonly CachePolicy Default = new(true, true, null);
}

/// <summary>
/// The rate-limit decision for a request: the requests policy's numbers when allowed, the denying
/// policy's when not; Degraded when RateLimit could not be asked. Tokens: the tokens-per-window budget.
/// </summary>
public sealed record RateLimitState(string Policy, bool Allowed, uint Limit, uint Remaining, TimeSpan ResetAfter, TimeSpan RetryAfter, bool Degraded,
    uint? TokensLimit = null, uint? TokensRemaining = null);

/// <summary>Receives a streamed answer: once the decision is made (before the first piece), then each piece.</summary>
public interface IChatStreamSink
{
    Task StartAsync(RateLimitState rateLimit, CacheStatus cache, string id, string model, long created);
    Task PieceAsync(string text);
}

/// <summary>
/// A request that cannot be answered because something behind the gateway failed: the model (Upstream:
/// HTTP 502) or a misconfigured dependency (HTTP 503). The message is safe to show to the caller.
/// </summary>
public sealed class ChatUnavailableException(bool upstream, string message, Exception inner) : Exception(message, inner)
{
    public bool Upstream => upstream;
}

/// <summary>
/// Completion is null when the request was rate limited. ModelTime: how long the model took for this
/// answer, or how long this request waited for the answer another identical request was getting (zero
/// for a plain cache hit).
/// </summary>
public sealed record ChatOutcome(RateLimitState RateLimit, ChatCompletion? Completion, CacheStatus Cache, TimeSpan ModelTime = default);

/// <summary>
/// What every chat request goes through, HTTP or gRPC: rate limit (RateLimit service), response cache
/// (Cache service), then the model. A dependency that fails degrades its feature, never the answer.
/// </summary>
public sealed partial class ChatPipeline(
    RateLimiter.RateLimiterClient rateLimiter,
    Cache.V1.Cache.CacheClient cache,
    IChatClient model,
    IOptionsMonitor<ChatGatewayOptions> options,
    TimeProvider time,
    Dependencies dependencies,
    ChatMetrics metrics,
    ILogger<ChatPipeline> logger)
{
    static readonly string[] Roles = ["system", "developer", "user", "assistant"];

    /// <summary>Problems with a request, each naming its field; empty when the request is valid.</summary>
    public IReadOnlyList<(string Field, string Problem)> Validate(ChatTurn turn)
    {
        var settings = options.CurrentValue;
        var problems = new List<(string, string)>();
        if (turn.Model is { Length: > 0 } requested && requested != settings.ModelName)
        {
            // Not echoed whole: the answer must stay small whatever the caller sent.
            var shown = requested.Length <= 64 ? requested : requested[..64] + "…";
            problems.Add(("model", $"unknown model '{shown}'; available: {settings.ModelName}"));
        }
        if (turn.Messages.Count == 0 || turn.Messages.Count > settings.MaxMessages)
        {
            problems.Add(("messages", $"required; 1-{settings.MaxMessages} messages"));
        }
        // Over the limit, the count is the problem: each of thousands of messages is not checked on its own.
        for (var i = 0; i < turn.Messages.Count && turn.Messages.Count <= settings.MaxMessages; i++)
        {
            if (!Roles.Contains(turn.Messages[i].Role))
            {
                problems.Add(($"messages[{i}].role", $"must be one of {string.Join(", ", Roles)}"));
            }
            if (string.IsNullOrEmpty(turn.Messages[i].Content))
            {
                problems.Add(($"messages[{i}].content", "required; must not be empty"));
            }
        }
        if (turn.Temperature is < 0 or > 2 || turn.Temperature is double.NaN)
        {
            problems.Add(("temperature", "must be between 0 and 2"));
        }
        if (turn.MaxTokens is { } maxTokens && (maxTokens < 1 || maxTokens > settings.MaxCompletionTokens))
        {
            problems.Add((turn.MaxTokensField, $"must be between 1 and {settings.MaxCompletionTokens}"));
        }
        if (PromptTokens(turn) > settings.MaxPromptTokens)
        {
            problems.Add(("messages", $"at most {settings.MaxPromptTokens} tokens in all (estimated one per word)"));
        }
        return problems;
    }

    public async Task<ChatOutcome> CompleteAsync(ChatTurn turn, string clientKey, CancellationToken cancellationToken) =>
        await CompleteAsync(turn, clientKey, CachePolicy.Default, stream: null, cancellationToken);

    /// <param name="stream">When given, the answer is also delivered piece by piece as it is produced
    /// (a cached answer is replayed the same way).</param>
    public async Task<ChatOutcome> CompleteAsync(ChatTurn turn, string clientKey, CachePolicy cachePolicy, IChatStreamSink? stream, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await AnswerAsync(turn, clientKey, cachePolicy, stream, cancellationToken);
            metrics.Completed(outcome, streamed: stream is not null);
            return outcome;
        }
        catch (ChatUnavailableException)
        {
            metrics.Failed(streamed: stream is not null);
            throw;
        }
        catch (ChatOverloadedException)
        {
            metrics.Shed(streamed: stream is not null);
            throw;
        }
    }

    async Task<ChatOutcome> AnswerAsync(ChatTurn turn, string clientKey, CachePolicy cachePolicy, IChatStreamSink? stream, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var estimatedTokens = EstimateTokens(turn, settings);
        var limit = await CheckRateLimitAsync(settings, clientKey, estimatedTokens, cancellationToken);
        if (!limit.Allowed)
        {
            return new ChatOutcome(limit, null, CacheStatus.Bypass);
        }

        var model = settings.ModelName;
        var cacheKey = ResponseCacheKey(model, turn);
        var (cached, leaseToken, cacheWorks, sharedWait) = cachePolicy switch
        {
            // Single flight: of many identical questions in flight at once, one asks the model; the
            // others wait in Cache for its answer.
            { Read: true, Write: true } => await LookupCacheAsync(settings, cacheKey, cancellationToken),
            { Read: true } => await ReadCacheAsync(settings, cacheKey, cancellationToken),
            _ => (null, null, true, TimeSpan.Zero),
        };
        if (cached is not null)
        {
            if (stream is not null)
            {
                await stream.StartAsync(limit, CacheStatus.Hit, cached.Id, cached.Model, cached.Created);
                foreach (var piece in ChatText.Pieces(cached.Content))
                {
                    await stream.PieceAsync(piece);
                }
            }
            // An answer another request was getting from the model: the wait for it was the model's time.
            return new ChatOutcome(limit, cached, CacheStatus.Hit, sharedWait);
        }

        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var filled = false;
        try
        {
            if (stream is not null)
            {
                // Headers go out before the answer exists, so a stream reports what was intended: MISS when the
                // cache was read (the answer will be stored), BYPASS when it was skipped or unavailable.
                await stream.StartAsync(limit, cacheWorks && cachePolicy.Read ? CacheStatus.Miss : CacheStatus.Bypass, id, model, created);
            }

            ChatCompletion completion;
            var asked = time.GetTimestamp();
            try
            {
                completion = await AskModelAsync(id, created, model, turn, stream, cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not ChatUnavailableException)
            {
                LogModelFailed(e.GetType().Name, e.Message);
                throw new ChatUnavailableException(true, "The model failed to answer; try again.", e);
            }
            await SettleTokensAsync(settings, clientKey, completion.PromptTokens + completion.CompletionTokens - (long)estimatedTokens);
            var ttl = cachePolicy.Ttl ?? settings.CacheTtl;
            // The answer is kept even if the caller has gone: others may be waiting for it.
            var stored = cacheWorks && cachePolicy.Write && await WriteCacheAsync(settings, cacheKey, leaseToken, ttl, completion);
            filled = stored;
            // MISS: the cache was read and did not have it. BYPASS: the cache was skipped or unavailable.
            var status = cacheWorks && cachePolicy.Read && (stored || !cachePolicy.Write) ? CacheStatus.Miss : CacheStatus.Bypass;
            return new ChatOutcome(limit, completion, status, time.GetElapsedTime(asked));
        }
        finally
        {
            if (leaseToken is not null && !filled)
            {
                await AbandonAsync(settings, cacheKey, leaseToken); // let a waiting caller take over at once
            }
        }
    }

    /// <summary>Tokens a request is charged up front: its prompt plus the most it may generate.</summary>
    static uint EstimateTokens(ChatTurn turn, ChatGatewayOptions settings) =>
        (uint)(PromptTokens(turn) + (turn.MaxTokens ?? settings.EstimatedCompletionTokens));

    static int PromptTokens(ChatTurn turn)
    {
        var tokens = 0;
        for (var i = 0; i < turn.Messages.Count; i++)
        {
            tokens += TokenEstimate.Count(turn.Messages[i].Content);
        }
        return tokens;
    }

    /// <summary>Requests per window and tokens per window in one CheckMany: both pass, or nothing is charged.</summary>
    async Task<RateLimitState> CheckRateLimitAsync(ChatGatewayOptions settings, string clientKey, uint estimatedTokens, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await rateLimiter.CheckManyAsync(new CheckManyRequest
            {
                AllOrNothing = true,
                Checks =
                {
                    new CheckRequest { Policy = settings.RequestsPolicy, Key = clientKey },
                    new CheckRequest { Policy = settings.TokensPolicy, Key = clientKey, Cost = estimatedTokens },
                },
            }, deadline: Deadline(), cancellationToken: cancellationToken);
            dependencies.RateLimit.Answered();
            var (requests, tokens) = (reply.Results[0], reply.Results[1]);
            var decisive = reply.Allowed ? requests : reply.Results.First(r => !r.Allowed);
            // RateLimit answered, but without its Redis: its policies' failure modes decided, and the numbers it sends
            // (remaining 0 when failing open) count nothing. Like an unreachable RateLimit: no numbers to report.
            var degraded = requests.Degraded || tokens.Degraded;
            return new RateLimitState(decisive.Policy, reply.Allowed, decisive.Limit, decisive.Remaining,
                decisive.ResetAfter.ToTimeSpan(), decisive.RetryAfter.ToTimeSpan(), degraded, tokens.Limit, tokens.Remaining);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested && dependencies.RateLimit.IsOverload(e))
        {
            throw dependencies.RateLimit.Overloaded(e); // shed here rather than let requests through unlimited
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested && Dependency.IsOutage(e))
        {
            // Fail open: a rate limiter outage must not take chat down with it.
            dependencies.RateLimit.Degrade(e);
            return new RateLimitState(settings.RequestsPolicy, true, 0, 0, TimeSpan.Zero, TimeSpan.Zero, Degraded: true);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            // A missing policy or a refused cost is a configuration problem: it must not switch limits off.
            LogRateLimitMisconfigured(e.StatusCode, e.Status.Detail);
            throw new ChatUnavailableException(false, "Rate limiting is misconfigured on this gateway; the operator has been told.", e);
        }
    }

    /// <summary>
    /// Charges the tokens used beyond the estimate once the answer is known. Best effort: it never fails a
    /// request that has been answered, and an answer shorter than its estimate is not refunded.
    /// </summary>
    async Task SettleTokensAsync(ChatGatewayOptions settings, string clientKey, long extraTokens)
    {
        if (extraTokens <= 0)
        {
            return;
        }
        try
        {
            await rateLimiter.CheckAsync(new CheckRequest { Policy = settings.TokensPolicy, Key = clientKey, Cost = (uint)extraTokens }, deadline: Deadline());
        }
        catch (RpcException e)
        {
            LogSettleFailed(e.StatusCode, e.Status.Detail);
        }
    }

    /// <returns>The cached answer (SharedWait: how long it took to arrive when another request was getting it);
    /// or a lease token when this request should ask the model and fill; or neither (waited too long for
    /// another caller) — then ask the model and store the answer.</returns>
    async Task<(ChatCompletion? Hit, string? LeaseToken, bool CacheWorks, TimeSpan SharedWait)> LookupCacheAsync(ChatGatewayOptions settings, string key, CancellationToken cancellationToken)
    {
        var asked = time.GetTimestamp();
        try
        {
            var result = await cache.LookupAsync(new LookupRequest
            {
                Namespace = settings.CacheNamespace,
                Key = key,
                LeaseTtl = Duration.FromTimeSpan(settings.CacheLeaseTtl),
                MaxWait = Duration.FromTimeSpan(settings.CacheMaxWait),
            }, deadline: Deadline() + settings.CacheMaxWait, cancellationToken: cancellationToken);
            dependencies.Cache.Answered();
            return result.ResultCase switch
            {
                LookupResponse.ResultOneofCase.Hit => (Decode(result.Hit.Value), null, true, result.Hit.Waited ? time.GetElapsedTime(asked) : TimeSpan.Zero),
                LookupResponse.ResultOneofCase.Lease => (null, result.Lease.Token, true, TimeSpan.Zero),
                _ => (null, null, true, TimeSpan.Zero),
            };
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            return CacheFailed(e);
        }
    }

    /// <summary>An overloaded Cache sheds the request; an unreachable one is bypassed (the answer comes from the model, uncached).</summary>
    (ChatCompletion?, string?, bool, TimeSpan) CacheFailed(RpcException e)
    {
        if (dependencies.Cache.IsOverload(e))
        {
            throw dependencies.Cache.Overloaded(e);
        }
        dependencies.Cache.Degrade(e);
        return (null, null, false, TimeSpan.Zero);
    }

    async Task<(ChatCompletion? Hit, string? LeaseToken, bool CacheWorks, TimeSpan SharedWait)> ReadCacheAsync(ChatGatewayOptions settings, string key, CancellationToken cancellationToken)
    {
        try
        {
            var entry = await cache.GetAsync(new GetRequest { Namespace = settings.CacheNamespace, Key = key }, deadline: Deadline(), cancellationToken: cancellationToken);
            dependencies.Cache.Answered();
            return (entry.Found ? Decode(entry.Value) : null, null, true, TimeSpan.Zero);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            return CacheFailed(e);
        }
    }

    /// <summary>A cached answer, or null (a miss) for an entry this version cannot read.</summary>
    static ChatCompletion? Decode(Google.Protobuf.ByteString value)
    {
        try
        {
            return JsonSerializer.Deserialize<ChatCompletion>(value.Span);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    async Task<bool> WriteCacheAsync(ChatGatewayOptions settings, string key, string? leaseToken, TimeSpan timeToLive, ChatCompletion completion)
    {
        var value = Google.Protobuf.ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(completion));
        var ttl = Duration.FromTimeSpan(timeToLive);
        try
        {
            if (leaseToken is null)
            {
                await cache.SetAsync(new SetRequest { Namespace = settings.CacheNamespace, Key = key, Value = value, Ttl = ttl },
                    deadline: Deadline());
            }
            else
            {
                await cache.FillAsync(new FillRequest { Namespace = settings.CacheNamespace, Key = key, Token = leaseToken, Value = value, Ttl = ttl },
                    deadline: Deadline());
            }
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
        {
            return true; // our lease ran out and another request filled the same answer: it is cached
        }
        catch (RpcException e)
        {
            LogCacheWriteFailed(e.StatusCode, e.Status.Detail);
            return false;
        }
    }

    async Task AbandonAsync(ChatGatewayOptions settings, string key, string leaseToken)
    {
        try
        {
            await cache.AbandonAsync(new AbandonRequest { Namespace = settings.CacheNamespace, Key = key, Token = leaseToken }, deadline: Deadline());
        }
        catch (RpcException e)
        {
            LogCacheWriteFailed(e.StatusCode, e.Status.Detail); // the lease expires on its own
        }
    }

    async Task<ChatCompletion> AskModelAsync(string id, long created, string modelName, ChatTurn turn, IChatStreamSink? stream, CancellationToken cancellationToken)
    {
        var messages = turn.Messages.Select(m => new ChatMessage(new ChatRole(m.Role), m.Content)).ToList();
        var chatOptions = new ChatOptions
        {
            ModelId = modelName,
            Temperature = (float?)turn.Temperature,
            MaxOutputTokens = turn.MaxTokens,
        };
        ChatResponse response;
        if (stream is null)
        {
            response = await model.GetResponseAsync(messages, chatOptions, cancellationToken);
        }
        else
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in model.GetStreamingResponseAsync(messages, chatOptions, cancellationToken))
            {
                updates.Add(update);
                if (update.Text is { Length: > 0 } piece)
                {
                    await stream.PieceAsync(piece);
                }
            }
            response = updates.ToChatResponse();
        }

        var promptTokens = (int)(response.Usage?.InputTokenCount ?? messages.Sum(m => TokenEstimate.Count(m.Text)));
        var completionTokens = (int)(response.Usage?.OutputTokenCount ?? TokenEstimate.Count(response.Text));
        return new ChatCompletion(
            Id: id,
            Model: response.ModelId ?? modelName,
            Content: response.Text,
            FinishReason: response.FinishReason == ChatFinishReason.Length ? "length" : "stop",
            PromptTokens: promptTokens,
            CompletionTokens: completionTokens,
            Created: created);
    }

    /// <summary>SHA-256 of a canonical form of what changes the answer: model, messages, temperature, max_tokens.</summary>
    public static string ResponseCacheKey(string model, ChatTurn turn)
    {
        var canonical = JsonSerializer.SerializeToUtf8Bytes(new
        {
            model,
            messages = turn.Messages.Select(m => new[] { m.Role, m.Content }),
            temperature = turn.Temperature,
            max_tokens = turn.MaxTokens,
        });
        return Convert.ToHexStringLower(SHA256.HashData(canonical));
    }

    DateTime Deadline() => time.GetUtcNow().UtcDateTime + options.CurrentValue.DependencyTimeout;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Tokens beyond the estimate not charged ({Status}: {Detail})")]
    partial void LogSettleFailed(StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "RateLimit refused the chat checks ({Status}: {Detail}); check Chat:RequestsPolicy, Chat:TokensPolicy and their RateLimit policies")]
    partial void LogRateLimitMisconfigured(StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The model failed ({Error}: {Detail})")]
    partial void LogModelFailed(string error, string detail);

    /// <summary>Debug: an unstored answer costs a later model call, not this request; outages are logged once by <see cref="Dependencies"/>.</summary>
    [LoggerMessage(Level = LogLevel.Debug, Message = "Answer not stored in, or lease not handed back to, the cache ({Status}: {Detail})")]
    partial void LogCacheWriteFailed(StatusCode status, string detail);
}
