using NAudio.Wave;

namespace Platform.AudioQueue.Audio;

/// <summary>Writes the processed audio as a 16-bit PCM mono WAV.</summary>
internal static class WavEncoder
{
    public static byte[] Pcm16Mono(float[] samples, Range range, int sampleRate)
    {
        var (offset, count) = range.GetOffsetAndLength(samples.Length);
        var output = new MemoryStream(64 + count * sizeof(short));
        using (var writer = new WaveFileWriter(output, new WaveFormat(sampleRate, 16, 1)))
            writer.WriteSamples(samples, offset, count);
        // The writer completes the RIFF header when disposed; the bytes stay readable afterwards.
        return output.ToArray();
    }
}
