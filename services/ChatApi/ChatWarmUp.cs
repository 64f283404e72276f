using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Platform.Cache.V1;
using Platform.ServiceDefaults;

namespace Platform.ChatApi;

/// <summary>
/// Start-up warm-up: chat completions through the HTTP API, plain and streamed, each from a caller of its own
/// (so no limit of a real caller is touched). The cached path always; questions the model must answer only
/// with the simulated model, never a real provider's (each would be billed): there the answer is put in the
/// cache first.
/// </summary>
sealed class ChatWarmUp(Cache.V1.Cache.CacheClient cache, IOptionsMonitor<ChatGatewayOptions> options, TimeProvider time) : IWarmUpCall
{
    const string Question = "Warm-up: is this replica ready?";
    readonly Lazy<Task> seeded = new(() => SeedAsync(cache, options.CurrentValue, time));

    public async Task RunAsync(WarmUpTarget target, long iteration, CancellationToken cancellationToken)
    {
        if (target.Http is null)
        {
            return;
        }
        await seeded.Value;
        await AskAsync(target.Http, Question, stream: iteration % 4 == 0, cancellationToken);
        if (!options.CurrentValue.Upstream.IsConfigured)
        {
            await AskAsync(target.Http, $"Warm-up question {iteration} ({Guid.NewGuid():N})", stream: iteration % 4 == 1, cancellationToken);
        }
    }

    static async Task AskAsync(HttpClient http, string question, bool stream, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { stream, messages = new[] { new { role = "user", content = question } } }, cancellationToken);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary>The warm-up question's answer, in the cache for as long as a warm-up can take (best effort: with Cache down
    /// the warm-up still runs, through the degraded path).</summary>
    static async Task SeedAsync(Cache.V1.Cache.CacheClient cache, ChatGatewayOptions settings, TimeProvider time)
    {
        try
        {
            await SetAnswerAsync(cache, settings, time);
        }
        catch (global::Grpc.Core.RpcException)
        {
        }
    }

    static async Task SetAnswerAsync(Cache.V1.Cache.CacheClient cache, ChatGatewayOptions settings, TimeProvider time)
    {
        var turn = new ChatTurn(null, [new ChatTurnMessage("user", Question)], null, null);
        var answer = new ChatCompletion("chatcmpl-warm-up", settings.ModelName, "Ready.", "stop", 6, 1, time.GetUtcNow().ToUnixTimeSeconds());
        await cache.SetAsync(new SetRequest
        {
            Namespace = settings.CacheNamespace,
            Key = ChatPipeline.ResponseCacheKey(settings.ModelName, turn),
            Value = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(answer)),
            Ttl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
        }, deadline: time.GetUtcNow().UtcDateTime.AddSeconds(5));
    }
}
