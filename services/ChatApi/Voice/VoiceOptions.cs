namespace Platform.ChatApi.Voice;

/// <summary>Configuration section <c>Chat:Voice</c>: voice messages, processed by AudioQueue.</summary>
public sealed class VoiceOptions
{
    /// <summary>Largest upload (413 above it); AudioQueue's own limit (AudioQueue:MaxAudioBytes) must be at least this.</summary>
    public int MaxAudioBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>RateLimit policy checked once per upload (uploads per window).</summary>
    public string RequestsPolicy { get; set; } = "audio";

    /// <summary>RateLimit Concurrency policy: voice messages one caller may have waiting or processing at once.</summary>
    public string InFlightPolicy { get; set; } = "audio-inflight";

    /// <summary>How long an in-flight slot is held if nobody looks at the message again (it is released when the message is seen finished).</summary>
    public TimeSpan InFlightLeaseTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Deadline for calls to AudioQueue (not for watching a message).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
