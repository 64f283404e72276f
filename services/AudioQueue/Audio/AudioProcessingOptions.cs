namespace Platform.AudioQueue.Audio;

/// <summary>Configuration section <c>AudioQueue:Audio</c>: how the built-in worker prepares audio.</summary>
public sealed class AudioProcessingOptions
{
    public const string SectionName = "AudioQueue:Audio";

    /// <summary>Sample rate of the processed WAV (16 kHz is what speech models expect).</summary>
    public int OutputSampleRate { get; set; } = 16000;

    /// <summary>Longest input accepted; longer audio is rejected before it is decoded where the header allows.</summary>
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Frames whose RMS (after normalising) is below this level are silence.</summary>
    public double SilenceThresholdDbfs { get; set; } = -40;

    /// <summary>Length of the frames that silence detection and segmentation work on.</summary>
    public TimeSpan FrameLength { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Bursts of sound shorter than this (clicks, pops) are not speech segments.</summary>
    public TimeSpan MinSpeech { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Pauses shorter than this join the segments on either side.</summary>
    public TimeSpan MaxGap { get; set; } = TimeSpan.FromMilliseconds(300);
}
