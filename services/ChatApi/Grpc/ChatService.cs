using Grpc.Core;
using Platform.Chat.V1;
using Platform.ServiceDefaults;

namespace Platform.ChatApi.Grpc;

/// <summary>platform.chat.v1.Chat: the same pipeline as the HTTP API, for internal teams.</summary>
[Platform.ServiceDefaults.Admission.AdmissionClass(RouteTimeoutOptions.Chat)]
public sealed class ChatService(ChatPipeline pipeline, ApiKeys apiKeys) : Chat.V1.Chat.ChatBase
{
    public override async Task<CompleteResponse> Complete(CompleteRequest request, ServerCallContext context)
    {
        var (turn, client) = Admit(request, context);
        var outcome = await Unavailable(() => pipeline.CompleteAsync(turn, client, context.CancellationToken));
        var completion = outcome.Completion ?? throw RateLimited(outcome, client);

        return new CompleteResponse
        {
            Id = completion.Id,
            Model = completion.Model,
            Content = completion.Content,
            FinishReason = completion.FinishReason,
            Usage = new Usage
            {
                PromptTokens = (uint)completion.PromptTokens,
                CompletionTokens = (uint)completion.CompletionTokens,
                TotalTokens = (uint)(completion.PromptTokens + completion.CompletionTokens),
            },
            Cached = outcome.Cache == CacheStatus.Hit,
        };
    }

    public override async Task StreamComplete(CompleteRequest request, IServerStreamWriter<CompleteChunk> responseStream, ServerCallContext context)
    {
        var (turn, client) = Admit(request, context);
        var stream = new GrpcChatStream(responseStream);
        var outcome = await Unavailable(() => pipeline.CompleteAsync(turn, client, CachePolicy.Default, stream, context.CancellationToken));
        var completion = outcome.Completion ?? throw RateLimited(outcome, client);
        await stream.FinishAsync(completion.FinishReason);
    }

    /// <summary>Authenticates and validates a request; returns it as a turn and the caller's rate-limit identity.</summary>
    (ChatTurn Turn, string Client) Admit(CompleteRequest request, ServerCallContext context)
    {
        var client = apiKeys.Identify(context.RequestHeaders.GetValue("authorization"), context.GetHttpContext().Connection.RemoteIpAddress?.ToString())
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "Missing or invalid API key: send metadata authorization: Bearer <key>."));

        var turn = new ChatTurn(
            request.Model,
            request.Messages.Select(m => new ChatTurnMessage(m.Role, m.Content)).ToList(),
            request.HasTemperature ? request.Temperature : null,
            request.HasMaxTokens ? (int)Math.Min(request.MaxTokens, int.MaxValue) : null);

        var validator = new RequestValidator();
        foreach (var (field, problem) in pipeline.Validate(turn))
        {
            validator.Check(false, field, problem);
        }
        validator.ThrowIfInvalid();
        return (turn, client);
    }

    /// <summary>A failure behind the gateway, as UNAVAILABLE with its reason.</summary>
    static async Task<ChatOutcome> Unavailable(Func<Task<ChatOutcome>> call)
    {
        try
        {
            return await call();
        }
        catch (ChatUnavailableException e)
        {
            throw GrpcErrors.Unavailable(e.Upstream ? "model" : "ratelimit_config", e.Message);
        }
        catch (ChatOverloadedException e)
        {
            throw GrpcErrors.ResourceExhausted(e.Message, e.RetryAfter, "chat", "the platform is shedding load");
        }
    }

    static RpcException RateLimited(ChatOutcome outcome, string client) =>
        GrpcErrors.ResourceExhausted(
            $"Rate limit reached for policy '{outcome.RateLimit.Policy}'.",
            outcome.RateLimit.RetryAfter, client, $"policy '{outcome.RateLimit.Policy}': limit {outcome.RateLimit.Limit} per window");
}
