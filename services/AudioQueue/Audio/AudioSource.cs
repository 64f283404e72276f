using System.Runtime.InteropServices;
using NAudio.Wave;

namespace Platform.AudioQueue.Audio;

/// <summary>An opened input: its samples (interleaved floats) and what its header says about them.</summary>
/// <param name="DeclaredDuration">Length according to the header, known before any audio is decoded.</param>
/// <param name="Decoder">Owns the decoding state; disposed with the source.</param>
internal sealed record AudioSource(
    ISampleProvider Samples, int BitsPerSample, string Format, TimeSpan DeclaredDuration, IDisposable Decoder) : IDisposable
{
    public int SampleRate => Samples.WaveFormat.SampleRate;

    public int Channels => Samples.WaveFormat.Channels;

    /// <summary>Reads the header of <paramref name="audio"/>; throws if it is not audio of <paramref name="contentType"/>.</summary>
    public static AudioSource Open(ReadOnlyMemory<byte> audio, string contentType)
    {
        if (string.Equals(contentType, "audio/wav", StringComparison.OrdinalIgnoreCase))
            return WavDecoder.Open(AsStream(audio));
        if (string.Equals(contentType, "audio/mpeg", StringComparison.OrdinalIgnoreCase))
            return Mp3Decoder.Open(AsStream(audio));
        throw new UnprocessableAudioException($"Unsupported content type '{contentType}': expected audio/wav or audio/mpeg.");
    }

    public void Dispose() => Decoder.Dispose();

    // The decoders want a Stream; wrap the caller's array rather than copying it where we can.
    static MemoryStream AsStream(ReadOnlyMemory<byte> audio) =>
        MemoryMarshal.TryGetArray(audio, out var array)
            ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
            : new MemoryStream(audio.ToArray(), writable: false);
}
