namespace Platform.AudioQueue.Audio;

/// <summary>A stretch of speech, in seconds from the start of the processed (trimmed) audio.</summary>
public sealed record SpeechSegment(double StartSeconds, double EndSeconds);

/// <summary>What processing found out about one input.</summary>
/// <param name="DurationSeconds">Length of the input as decoded.</param>
/// <param name="SampleRateIn">Sample rate of the input.</param>
/// <param name="ChannelsIn">Channel count of the input.</param>
/// <param name="BitsPerSampleIn">Bits per sample of a WAV input; 0 for MP3, which has no fixed bit depth.</param>
/// <param name="FormatIn"><c>pcm</c>, <c>float</c> or <c>mp3</c>.</param>
/// <param name="ProcessedDurationSeconds">Length of the output, after trimming silence.</param>
/// <param name="SampleRate">Sample rate of the output.</param>
/// <param name="PeakDbfs">Peak of the input's mono mix before normalising; silence reads as -120 rather than minus infinity.</param>
/// <param name="RmsDbfs">RMS of the input's mono mix before normalising; silence reads as -120 rather than minus infinity.</param>
/// <param name="SilenceRatio">Share of the input's frames that are silence, 0 to 1.</param>
/// <param name="Segments">Speech found in the output, in order.</param>
public sealed record AudioAnalysis(
    double DurationSeconds,
    int SampleRateIn, int ChannelsIn, int BitsPerSampleIn, string FormatIn,
    double ProcessedDurationSeconds, int SampleRate,
    double PeakDbfs, double RmsDbfs,
    double SilenceRatio,
    IReadOnlyList<SpeechSegment> Segments);

/// <summary>The processed audio: a 16-bit PCM mono WAV at the configured output rate, and its analysis.</summary>
public sealed record ProcessedAudio(byte[] Wav, AudioAnalysis Analysis);
