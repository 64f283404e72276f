using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.AudioQueue.V1;

namespace Platform.ChatApi.Voice;

/// <summary>A voice message as the HTTP API shows it (JSON, snake_case).</summary>
public sealed record VoiceMessage(
    string Id,
    string Status,
    uint Position,
    double? EstimatedWaitSeconds,
    double Progress,
    uint Attempts,
    long CreatedAt,
    long? StartedAt,
    long? FinishedAt,
    JsonElement? Result,
    string? Error,
    string? AudioUrl)
{
    [JsonPropertyOrder(-1)]
    public string Object => "audio.message";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public bool IsFinal => Status is "succeeded" or "failed" or "cancelled" or "dead";

    public static VoiceMessage From(Job job) => new(
        job.Id,
        job.State switch
        {
            JobState.Queued => "queued",
            JobState.Processing => "processing",
            JobState.Succeeded => "succeeded",
            JobState.Failed => "failed",
            JobState.Cancelled => "cancelled",
            _ => "dead",
        },
        job.Position,
        job.EstimatedWait?.ToTimeSpan().TotalSeconds,
        job.Progress,
        job.Attempts,
        job.CreatedAt.ToDateTimeOffset().ToUnixTimeSeconds(),
        job.StartedAt?.ToDateTimeOffset().ToUnixTimeSeconds(),
        job.FinishedAt?.ToDateTimeOffset().ToUnixTimeSeconds(),
        ParseResult(job.Result),
        job.Error.Length > 0 ? job.Error : null,
        job.State == JobState.Succeeded ? $"/v1/audio/messages/{job.Id}/audio" : null);

    /// <summary>A just-queued message, from Enqueue's receipt (when it cannot be read back at once).</summary>
    public static VoiceMessage From(EnqueueResponse queued) => new(
        queued.JobId, "queued", queued.Position, queued.EstimatedWait?.ToTimeSpan().TotalSeconds, 0, 0,
        DateTimeOffset.UtcNow.ToUnixTimeSeconds(), null, null, null, null, null);

    /// <summary>The worker's result document, as JSON when it is JSON, else as a string.</summary>
    static JsonElement? ParseResult(string result)
    {
        if (result.Length == 0)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(result);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(result);
        }
    }
}
