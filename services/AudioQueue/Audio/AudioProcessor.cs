using NAudio.Wave;
using NAudio.Wave.SampleProviders;

namespace Platform.AudioQueue.Audio;

/// <summary>
/// Prepares one job's audio for recognition: decode, mix down to mono, resample, peak-normalise,
/// trim leading and trailing silence, find the speech segments and write a 16-bit PCM mono WAV.
/// Pure and thread-safe: one instance can process many jobs at once.
/// </summary>
public sealed class AudioProcessor(AudioProcessingOptions options)
{
    // Output samples pulled through the decode chain per read. The chain's buffers scale with it (times the
    // input's channels and rate ratio), so it stays small; it also sets how often cancellation is checked.
    const int ChunkSamples = 4096;

    readonly AudioProcessingOptions options = Validate(options);

    /// <param name="contentType"><c>audio/wav</c> or <c>audio/mpeg</c>.</param>
    /// <param name="progress">Gets values in 0..1 after each stage.</param>
    /// <exception cref="UnprocessableAudioException">The audio can never be processed.</exception>
    public ProcessedAudio Process(
        ReadOnlyMemory<byte> audio, string contentType, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        if (audio.IsEmpty) throw new UnprocessableAudioException("The audio is empty.");

        var decoded = Decode(audio, contentType, cancellationToken);
        var samples = decoded.Samples;
        var rate = options.OutputSampleRate;
        progress?.Report(0.5);

        AudioLevels.Normalise(samples, options.SilenceThresholdDbfs);
        progress?.Report(0.6);
        cancellationToken.ThrowIfCancellationRequested();

        var frames = SpeechFrames.Detect(samples, rate, options.FrameLength, options.SilenceThresholdDbfs);
        var kept = frames.SoundRange;
        var (keptStart, keptLength) = kept.GetOffsetAndLength(samples.Length);
        var segments = frames.Segments(keptStart, options.MinSpeech, options.MaxGap);
        progress?.Report(0.8);
        cancellationToken.ThrowIfCancellationRequested();

        var wav = WavEncoder.Pcm16Mono(samples, kept, rate);
        progress?.Report(1);

        var source = decoded.Source;
        return new ProcessedAudio(wav, new AudioAnalysis(
            DurationSeconds: (double)source.Frames / source.SampleRate,
            source.SampleRate, source.Channels, source.BitsPerSample, source.Format,
            ProcessedDurationSeconds: (double)keptLength / rate, rate,
            PeakDbfs: AudioLevels.ToDbfs(source.Peak), RmsDbfs: AudioLevels.ToDbfs(source.Rms),
            frames.SilenceRatio, segments));
    }

    /// <summary>What was read from the input, before anything but mixing changed it.</summary>
    sealed record InputInfo(int SampleRate, int Channels, int BitsPerSample, string Format, long Frames, double Peak, double Rms);

    sealed record DecodedAudio(float[] Samples, InputInfo Source);

    /// <summary>Decodes to mono at the output rate, turning every failure of the input into <see cref="UnprocessableAudioException"/>.</summary>
    DecodedAudio Decode(ReadOnlyMemory<byte> audio, string contentType, CancellationToken cancellationToken)
    {
        try
        {
            using var source = AudioSource.Open(audio, contentType);
            // Checking the header's length is enough: the decoders stop where it says the audio ends
            // (WAV: the data chunk, cut to the bytes present; MP3: the frames scanned or the VBR header's count).
            if (source.DeclaredDuration > options.MaxDuration) throw TooLong(source.DeclaredDuration);

            var mono = new MonoDownmix(source.Samples);
            ISampleProvider output = source.SampleRate == options.OutputSampleRate
                ? mono
                // WDL is NAudio.Core's fully managed resampler; NAudio's others wrap Windows codecs (ACM, Media Foundation).
                : new WdlResamplingSampleProvider(mono, options.OutputSampleRate);

            var samples = ReadAll(output, source.DeclaredDuration, cancellationToken);
            if (mono.FramesRead == 0) throw new UnprocessableAudioException("The audio contains no samples.");

            return new DecodedAudio(samples, new InputInfo(
                source.SampleRate, source.Channels, source.BitsPerSample, source.Format, mono.FramesRead, mono.Peak, mono.Rms));
        }
        catch (Exception ex) when (ex is not (UnprocessableAudioException or OperationCanceledException or OutOfMemoryException))
        {
            // Decoders report bad input with whatever they like (FormatException, EndOfStreamException,
            // InvalidDataException, InvalidOperationException, ...); to the queue they all mean the same thing.
            var reason = ex is EndOfStreamException ? "the data ends inside the header" : ex.Message;
            throw new UnprocessableAudioException($"The audio could not be decoded as {contentType}: {reason}", ex);
        }
    }

    /// <summary>Pulls the whole chain through into one buffer, sized up front from the header.</summary>
    static float[] ReadAll(ISampleProvider output, TimeSpan declaredDuration, CancellationToken cancellationToken)
    {
        var samples = new float[(int)(declaredDuration.TotalSeconds * output.WaveFormat.SampleRate) + ChunkSamples];
        var count = 0;
        int read;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Resampling can round a sample or two past the estimate.
            if (samples.Length - count < ChunkSamples) Array.Resize(ref samples, samples.Length + samples.Length / 2);
            read = output.Read(samples.AsSpan(count, ChunkSamples));
            count += read;
        }
        while (read > 0);

        Array.Resize(ref samples, count);
        return samples;
    }

    UnprocessableAudioException TooLong(TimeSpan length) => new(
        $"The audio is {length.TotalSeconds:0.###} s long, over the {options.MaxDuration.TotalSeconds:0.###} s limit ({AudioProcessingOptions.SectionName}:{nameof(AudioProcessingOptions.MaxDuration)}).");

    static AudioProcessingOptions Validate(AudioProcessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.OutputSampleRate, nameof(options.OutputSampleRate));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.MaxDuration, TimeSpan.Zero, nameof(options.MaxDuration));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.FrameLength, TimeSpan.Zero, nameof(options.FrameLength));
        return options;
    }
}
