namespace Platform.AudioQueue.Audio;

/// <summary>
/// Energy-based voice activity: the audio is cut into fixed frames and a frame is sound when its
/// RMS reaches the silence threshold. Trimming and speech segments are both read off these frames.
/// </summary>
internal sealed class SpeechFrames
{
    readonly bool[] sound;
    readonly int frameSize;
    readonly int sampleCount;
    readonly int sampleRate;

    SpeechFrames(bool[] sound, int frameSize, int sampleCount, int sampleRate) =>
        (this.sound, this.frameSize, this.sampleCount, this.sampleRate) = (sound, frameSize, sampleCount, sampleRate);

    public static SpeechFrames Detect(ReadOnlySpan<float> samples, int sampleRate, TimeSpan frameLength, double thresholdDbfs)
    {
        var frameSize = Math.Max(1, (int)Math.Round(frameLength.TotalSeconds * sampleRate));
        // Compare mean squares rather than taking a square root and a logarithm per frame.
        var thresholdMeanSquare = Math.Pow(10, thresholdDbfs / 10);
        var sound = new bool[(samples.Length + frameSize - 1) / frameSize];
        for (var f = 0; f < sound.Length; f++)
        {
            var frame = samples.Slice(f * frameSize, Math.Min(frameSize, samples.Length - f * frameSize));
            var sum = 0.0;
            foreach (var sample in frame) sum += sample * sample;
            sound[f] = sum / frame.Length >= thresholdMeanSquare;
        }
        return new SpeechFrames(sound, frameSize, samples.Length, sampleRate);
    }

    /// <summary>Share of frames that are silence; audio too short to fill a frame counts as silent.</summary>
    public double SilenceRatio => sound.Length == 0 ? 1 : (double)sound.Count(s => !s) / sound.Length;

    /// <summary>Samples from the start of the first sound frame to the end of the last; empty if all is silence.</summary>
    public Range SoundRange
    {
        get
        {
            var first = Array.IndexOf(sound, true);
            if (first < 0) return 0..0;
            var last = Array.LastIndexOf(sound, true);
            return (first * frameSize)..End(last + 1);
        }
    }

    /// <summary>
    /// Runs of sound frames, joined across pauses shorter than <paramref name="maxGap"/>, then dropped when
    /// shorter than <paramref name="minSpeech"/>; joining first lets syllables with short pauses between
    /// them add up to speech. Times are in seconds from <paramref name="originSample"/>.
    /// </summary>
    public IReadOnlyList<SpeechSegment> Segments(int originSample, TimeSpan minSpeech, TimeSpan maxGap)
    {
        var maxGapSamples = maxGap.TotalSeconds * sampleRate;
        var runs = new List<(int Start, int End)>();
        for (var f = 0; f < sound.Length; f++)
        {
            if (!sound[f]) continue;
            var start = f;
            while (f < sound.Length && sound[f]) f++;
            var run = (Start: start * frameSize, End: End(f));
            if (runs.Count > 0 && run.Start - runs[^1].End < maxGapSamples)
                runs[^1] = (runs[^1].Start, run.End);
            else
                runs.Add(run);
        }

        var minSpeechSamples = minSpeech.TotalSeconds * sampleRate;
        return runs
            .Where(r => r.End - r.Start >= minSpeechSamples)
            .Select(r => new SpeechSegment(Seconds(r.Start - originSample), Seconds(r.End - originSample)))
            .ToArray();
    }

    // The last frame may be short.
    int End(int frameIndex) => Math.Min(frameIndex * frameSize, sampleCount);

    double Seconds(int samples) => (double)samples / sampleRate;
}
