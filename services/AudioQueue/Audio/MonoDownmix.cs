using NAudio.Wave;

namespace Platform.AudioQueue.Audio;

/// <summary>
/// Averages the channels of interleaved audio into one, metering the mix as it passes: the input's
/// peak and RMS are measured here, once, before resampling or normalising changes the signal.
/// </summary>
internal sealed class MonoDownmix(ISampleProvider source) : ISampleProvider
{
    readonly int channels = source.WaveFormat.Channels;
    float[] interleaved = [];
    double sumOfSquares;

    public WaveFormat WaveFormat { get; } = WaveFormat.CreateIeeeFloatWaveFormat(source.WaveFormat.SampleRate, 1);

    /// <summary>Sample frames (one sample per channel) read from the source so far.</summary>
    public long FramesRead { get; private set; }

    public double Peak { get; private set; }

    public double Rms => FramesRead == 0 ? 0 : Math.Sqrt(sumOfSquares / FramesRead);

    public int Read(Span<float> buffer)
    {
        var frames = channels == 1 ? source.Read(buffer) : ReadMixed(buffer);
        var peak = Peak;
        var sum = 0.0;
        foreach (var sample in buffer[..frames])
        {
            peak = Math.Max(peak, Math.Abs(sample));
            sum += sample * sample;
        }
        Peak = peak;
        sumOfSquares += sum;
        FramesRead += frames;
        return frames;
    }

    int ReadMixed(Span<float> buffer)
    {
        var wanted = buffer.Length * channels;
        if (interleaved.Length < wanted) interleaved = new float[wanted];

        // A source that ends mid-frame (truncated data) loses the incomplete frame.
        var frames = source.Read(interleaved.AsSpan(0, wanted)) / channels;
        var scale = 1f / channels;
        for (int frame = 0, i = 0; frame < frames; frame++)
        {
            var sum = 0f;
            for (var c = 0; c < channels; c++) sum += interleaved[i++];
            buffer[frame] = sum * scale;
        }
        return frames;
    }
}
