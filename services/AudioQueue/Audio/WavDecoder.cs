using NAudio.Wave;

namespace Platform.AudioQueue.Audio;

/// <summary>Opens WAV files with NAudio: PCM (8, 16, 24, 32-bit) and IEEE float, plain or WAVE_FORMAT_EXTENSIBLE.</summary>
internal static class WavDecoder
{
    // Beyond what any recording uses. The decode buffers grow with both, so a corrupt or hostile header
    // claiming, say, a 2 GHz sample rate would otherwise make the resampler ask for gigabytes.
    const int MaxSampleRate = 384_000;
    const int MaxChannels = 32;

    public static AudioSource Open(Stream stream)
    {
        var reader = new WaveFileReader(stream);
        try
        {
            // WAVE_FORMAT_EXTENSIBLE wraps the same PCM / float data; its standard equivalent says which.
            var format = reader.WaveFormat.AsStandardWaveFormat();
            var name = (format.Encoding, format.BitsPerSample) switch
            {
                (WaveFormatEncoding.Pcm, 8 or 16 or 24 or 32) => "pcm",
                (WaveFormatEncoding.IeeeFloat, 32 or 64) => "float",
                _ => throw new UnprocessableAudioException(
                    $"Unsupported WAV encoding {format.Encoding} ({format.BitsPerSample}-bit): " +
                    "expected PCM (8, 16, 24 or 32-bit) or IEEE float (32 or 64-bit)."),
            };
            if (format.SampleRate is <= 0 or > MaxSampleRate || format.Channels is <= 0 or > MaxChannels)
                throw new UnprocessableAudioException(
                    $"Unsupported WAV format: {format.SampleRate} Hz, {format.Channels} channels " +
                    $"(at most {MaxSampleRate} Hz and {MaxChannels} channels).");

            var declared = TimeSpan.FromSeconds((double)reader.SampleCount / format.SampleRate);
            return new AudioSource(reader.ToSampleProvider(), format.BitsPerSample, name, declared, reader);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }
}
