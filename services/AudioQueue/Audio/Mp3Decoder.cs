using NAudio.Wave;
using NLayer;

namespace Platform.AudioQueue.Audio;

/// <summary>
/// Opens MP3 with NLayer, a fully managed decoder. NAudio.Core 3.3.0 parses MP3 frames
/// (<c>Mp3FileReaderBase</c>) but leaves decoding them to an <c>IMp3FrameDecompressor</c>, and
/// NAudio's implementations of that wrap Windows codecs (ACM in NAudio.WinMM, DMO and Media
/// Foundation in NAudio.Wasapi), which the Linux hosts the worker runs on do not have.
/// </summary>
internal static class Mp3Decoder
{
    public static AudioSource Open(Stream stream)
    {
        // NLayer skips a RIFF header and hunts for frame syncs in whatever follows; in PCM samples it can
        // find false ones and decode noise. MP3 wrapped in RIFF is rare enough to turn away with WAV.
        Span<byte> magic = stackalloc byte[4];
        if (stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) == magic.Length && magic.SequenceEqual("RIFF"u8))
            throw new UnprocessableAudioException("This is a RIFF (WAV) file, not MPEG audio: send it as audio/wav.");
        stream.Position = 0;

        var file = new MpegFile(stream);
        // Duration comes from the Xing/VBRI header or a scan of the frame headers: no audio is decoded for it.
        // It already excludes the encoder delay and padding that the LAME header records.
        return new AudioSource(new MpegSampleProvider(file), BitsPerSample: 0, "mp3", file.Duration, file);
    }

    sealed class MpegSampleProvider(MpegFile file) : ISampleProvider
    {
        public WaveFormat WaveFormat { get; } = WaveFormat.CreateIeeeFloatWaveFormat(file.SampleRate, file.Channels);

        public int Read(Span<float> buffer) => file.ReadSamples(buffer);
    }
}
