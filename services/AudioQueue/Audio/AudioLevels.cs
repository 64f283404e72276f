namespace Platform.AudioQueue.Audio;

/// <summary>Decibel conversions and peak normalisation.</summary>
internal static class AudioLevels
{
    /// <summary>What silence reads as, instead of minus infinity (below any real 24-bit noise floor).</summary>
    public const double FloorDbfs = -120;

    /// <summary>Normalised peak; the headroom keeps resampling overshoot and 16-bit rounding from clipping.</summary>
    public const double NormalisedPeakDbfs = -1;

    public static double ToDbfs(double linear) => linear > 0 ? Math.Max(FloorDbfs, 20 * Math.Log10(linear)) : FloorDbfs;

    public static double ToLinear(double dbfs) => Math.Pow(10, dbfs / 20);

    /// <summary>
    /// Scales <paramref name="samples"/> so their peak is <see cref="NormalisedPeakDbfs"/>. Audio whose
    /// peak stays below <paramref name="silenceThresholdDbfs"/> is silence (or hiss) and is left alone:
    /// amplifying it would make the hiss look like speech, and all-zero audio has no peak to divide by.
    /// </summary>
    public static void Normalise(Span<float> samples, double silenceThresholdDbfs)
    {
        var peak = 0f;
        foreach (var sample in samples) peak = Math.Max(peak, Math.Abs(sample));
        if (ToDbfs(peak) < silenceThresholdDbfs) return;

        var gain = (float)(ToLinear(NormalisedPeakDbfs) / peak);
        for (var i = 0; i < samples.Length; i++) samples[i] *= gain;
    }
}
