using System.Text.Json;
using Platform.AudioQueue.Audio;

namespace Platform.AudioQueue.Worker;

/// <summary>The result document of a job the built-in worker processed (JSON, snake_case).</summary>
public static class AudioJobResult
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(AudioAnalysis analysis, string? transcript, string? transcriptError = null) => JsonSerializer.Serialize(new
    {
        analysis.DurationSeconds,
        analysis.SampleRateIn,
        analysis.ChannelsIn,
        analysis.BitsPerSampleIn,
        analysis.FormatIn,
        analysis.ProcessedDurationSeconds,
        analysis.SampleRate,
        analysis.PeakDbfs,
        analysis.RmsDbfs,
        analysis.SilenceRatio,
        Segments = analysis.Segments.Select(s => new { Start = s.StartSeconds, End = s.EndSeconds }),
        Output = new { ContentType = "audio/wav", analysis.SampleRate, Channels = 1 },
        Transcript = transcript,
        TranscriptError = transcriptError,
    }, Json);
}
