using System.Diagnostics.Metrics;
using Platform.ServiceDefaults;

namespace Platform.ChatApi;

/// <summary>platform.chat.*: what the gateway answered, how long the model took and the tokens it used.</summary>
public sealed class ChatMetrics
{
    public const string MeterName = PlatformTelemetry.MeterPrefix + "chat";

    readonly Counter<long> completions;
    readonly Histogram<double> modelDuration;
    readonly Counter<long> tokens;
    readonly Counter<long> voiceMessages;

    public ChatMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        completions = meter.CreateCounter<long>("platform.chat.completions", "{request}",
            "Chat completions answered, by outcome (hit, miss, bypass: the cache; limited: refused by the rate limit; failed: the model failed; shed: refused because RateLimit or Cache was overloaded) and whether streamed.");
        modelDuration = meter.CreateHistogram<double>("platform.chat.model.duration", "s",
            "Time the model took for answers not found in the cache (or, for single-flight waiters, the wait for another request's answer).");
        tokens = meter.CreateCounter<long>("platform.chat.tokens", "{token}", "Tokens of answered completions, by kind (prompt, completion).");
        voiceMessages = meter.CreateCounter<long>("platform.chat.voice.messages", "{message}",
            "Voice message uploads that reached the queue step, by outcome (accepted, limited, rejected: the queue refused the audio, unavailable).");
    }

    public void Completed(ChatOutcome outcome, bool streamed)
    {
        var result = !outcome.RateLimit.Allowed ? "limited" : outcome.Cache switch { CacheStatus.Hit => "hit", CacheStatus.Miss => "miss", _ => "bypass" };
        completions.Add(1, new("outcome", result), Stream(streamed));
        if (outcome.ModelTime > TimeSpan.Zero)
        {
            modelDuration.Record(outcome.ModelTime.TotalSeconds, new KeyValuePair<string, object?>("cache", result));
        }
        if (outcome.Completion is { } completion)
        {
            tokens.Add(completion.PromptTokens, new KeyValuePair<string, object?>("kind", "prompt"));
            tokens.Add(completion.CompletionTokens, new KeyValuePair<string, object?>("kind", "completion"));
        }
    }

    public void Failed(bool streamed) => completions.Add(1, new("outcome", "failed"), Stream(streamed));

    public void Shed(bool streamed) => completions.Add(1, new("outcome", "shed"), Stream(streamed));

    static readonly KeyValuePair<string, object?> Streamed = new("stream", true), NotStreamed = new("stream", false);

    static KeyValuePair<string, object?> Stream(bool streamed) => streamed ? Streamed : NotStreamed;

    public void VoiceMessage(string outcome) => voiceMessages.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
