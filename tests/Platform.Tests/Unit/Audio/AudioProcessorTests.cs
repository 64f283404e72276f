using Platform.AudioQueue.Audio;
using static Platform.Tests.Unit.Audio.TestSignals;

namespace Platform.Tests.Unit.Audio;

public sealed class AudioProcessorTests
{
    const int Rate = 16000;
    // Trim and segment edges fall on 20 ms frames; resampling filters smear an edge by a little more.
    const double Frame = 0.02;
    const double EdgeTolerance = Frame + 0.005;

    static readonly AudioProcessor Processor = new(new AudioProcessingOptions());

    static ProcessedAudio ProcessWav(byte[] wav, AudioProcessingOptions? options = null) =>
        (options is null ? Processor : new AudioProcessor(options)).Process(wav, "audio/wav");

    /// <summary>0.5 s silence + 1 s of 440 Hz at half amplitude + 0.5 s silence.</summary>
    static float[] PaddedTone(int sampleRate) =>
        Concat(Silence(0.5, sampleRate), Tone(440, 1, sampleRate), Silence(0.5, sampleRate));

    public static TheoryData<WavEncoding, int, int, bool> Formats => new()
    {
        { WavEncoding.Pcm8, 8000, 1, false },
        { WavEncoding.Pcm16, 16000, 1, false },
        { WavEncoding.Pcm16, 44100, 2, false },
        { WavEncoding.Pcm16, 48000, 1, false },
        { WavEncoding.Pcm24, 22050, 1, false },
        { WavEncoding.Pcm24, 48000, 2, true },
        { WavEncoding.Pcm32, 16000, 1, false },
        { WavEncoding.Float32, 44100, 2, false },
        { WavEncoding.Float32, 32000, 1, true },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Decodes_each_wav_format_and_trims_the_padding(WavEncoding encoding, int sampleRate, int channels, bool extensible)
    {
        var result = ProcessWav(Wav(PaddedTone(sampleRate), sampleRate, encoding, channels, extensible));

        var a = result.Analysis;
        Assert.Equal(2.0, a.DurationSeconds, 3);
        Assert.Equal(sampleRate, a.SampleRateIn);
        Assert.Equal(channels, a.ChannelsIn);
        Assert.Equal(encoding switch { WavEncoding.Pcm8 => 8, WavEncoding.Pcm16 => 16, WavEncoding.Pcm24 => 24, _ => 32 }, a.BitsPerSampleIn);
        Assert.Equal(encoding == WavEncoding.Float32 ? "float" : "pcm", a.FormatIn);
        Assert.Equal(16000, a.SampleRate);
        Assert.Equal(1.0, a.ProcessedDurationSeconds, 2 * EdgeTolerance);
        Assert.Equal(0.5, a.SilenceRatio, 0.03);

        var output = ReadPcm16(result.Wav);
        Assert.Equal((1, 1, 16000, 16), (output.Format, output.Channels, output.SampleRate, output.Bits));
        Assert.Equal((int)Math.Round(a.ProcessedDurationSeconds * 16000), output.Samples.Length);

        var segment = Assert.Single(a.Segments);
        Assert.Equal(0, segment.StartSeconds, EdgeTolerance);
        Assert.Equal(1.0, segment.EndSeconds, 2 * EdgeTolerance);
    }

    [Fact]
    public void Resampling_from_44_1_kHz_keeps_the_tone_frequency()
    {
        var result = ProcessWav(Wav(PaddedTone(44100), 44100, channels: 2));

        var output = ReadPcm16(result.Wav);
        Assert.Equal(440, ToneFrequency(output.Samples, 16000), 440 * 0.005);
    }

    [Fact]
    public void Pauses_of_600_ms_separate_segments()
    {
        var input = Concat(Silence(0.3, Rate), Tone(300, 0.5, Rate), Silence(0.6, Rate), Tone(300, 0.7, Rate), Silence(0.3, Rate));

        var a = ProcessWav(Wav(input, Rate)).Analysis;

        Assert.Equal(1.8, a.ProcessedDurationSeconds, 2 * Frame);
        Assert.Collection(a.Segments,
            s => { Assert.Equal(0, s.StartSeconds, Frame); Assert.Equal(0.5, s.EndSeconds, Frame); },
            s => { Assert.Equal(1.1, s.StartSeconds, Frame); Assert.Equal(1.8, s.EndSeconds, Frame); });
    }

    [Fact]
    public void Segment_times_survive_resampling()
    {
        var input = Concat(Silence(0.3, 44100), Tone(300, 0.5, 44100), Silence(0.6, 44100), Tone(300, 0.7, 44100));

        var a = ProcessWav(Wav(input, 44100)).Analysis;

        Assert.Collection(a.Segments,
            s => { Assert.Equal(0, s.StartSeconds, EdgeTolerance); Assert.Equal(0.5, s.EndSeconds, EdgeTolerance); },
            s => { Assert.Equal(1.1, s.StartSeconds, EdgeTolerance); Assert.Equal(1.8, s.EndSeconds, EdgeTolerance); });
    }

    [Fact]
    public void Pauses_of_100_ms_join_segments()
    {
        var input = Concat(Tone(300, 0.5, Rate), Silence(0.1, Rate), Tone(300, 0.5, Rate));

        var segment = Assert.Single(ProcessWav(Wav(input, Rate)).Analysis.Segments);

        Assert.Equal(0, segment.StartSeconds, Frame);
        Assert.Equal(1.1, segment.EndSeconds, Frame);
    }

    [Fact]
    public void Bursts_shorter_than_min_speech_are_not_segments()
    {
        var input = Concat(Tone(300, 0.5, Rate), Silence(1, Rate), Tone(1000, 0.04, Rate), Silence(0.5, Rate));

        var a = ProcessWav(Wav(input, Rate)).Analysis;

        var segment = Assert.Single(a.Segments);
        Assert.Equal(0.5, segment.EndSeconds, Frame);
        // Trimming goes by frame energy alone, so the burst still marks the end of the kept audio.
        Assert.Equal(1.54, a.ProcessedDurationSeconds, Frame);
    }

    [Fact]
    public void Levels_are_those_of_the_input_before_normalising()
    {
        var half = ProcessWav(Wav(Tone(440, 1, Rate, amplitude: 0.5), Rate, WavEncoding.Float32)).Analysis;
        var full = ProcessWav(Wav(Tone(440, 1, Rate, amplitude: 1.0), Rate, WavEncoding.Float32)).Analysis;

        Assert.Equal(-6.02, half.PeakDbfs, 0.05);
        Assert.Equal(-9.03, half.RmsDbfs, 0.05);
        Assert.Equal(0, full.PeakDbfs, 0.05);
        Assert.Equal(-3.01, full.RmsDbfs, 0.05);
        Assert.Equal(0, full.SilenceRatio);
    }

    [Fact]
    public void Output_is_normalised_to_minus_1_dbfs()
    {
        var result = ProcessWav(Wav(Tone(440, 1, Rate, amplitude: 0.1), Rate));

        Assert.Equal(-20, result.Analysis.PeakDbfs, 0.05);
        Assert.Equal(-1, PeakDbfs(ReadPcm16(result.Wav).Samples), 0.05);
    }

    [Fact]
    public void Channels_are_averaged()
    {
        var tone = Tone(440, 1, Rate, amplitude: 1.0);

        var oneSided = ProcessWav(Wav([tone, Silence(1, Rate)], Rate)).Analysis;
        var cancelling = ProcessWav(Wav([tone, tone.Select(s => -s).ToArray()], Rate)).Analysis;

        Assert.Equal(2, oneSided.ChannelsIn);
        Assert.Equal(-6.02, oneSided.PeakDbfs, 0.05);
        Assert.Empty(cancelling.Segments);
    }

    [Fact]
    public void All_silent_audio_leaves_nothing_to_keep()
    {
        var result = ProcessWav(Wav(Silence(2, 44100), 44100));

        var a = result.Analysis;
        Assert.Equal(2.0, a.DurationSeconds, 3);
        Assert.Equal(-120, a.PeakDbfs);
        Assert.Equal(-120, a.RmsDbfs);
        Assert.Equal(1, a.SilenceRatio);
        Assert.Equal(0, a.ProcessedDurationSeconds);
        Assert.Empty(a.Segments);
        Assert.Empty(ReadPcm16(result.Wav).Samples);
    }

    [Fact]
    public void Faint_hiss_is_not_amplified_into_speech()
    {
        // About -66 dBFS of noise: normalising it to -1 dBFS would put every frame above the threshold.
        var random = new Random(7);
        var hiss = Enumerable.Range(0, Rate).Select(_ => (float)(random.NextDouble() - 0.5) * 0.001f).ToArray();

        var a = ProcessWav(Wav(hiss, Rate)).Analysis;

        Assert.InRange(a.PeakDbfs, -70, -60);
        Assert.Equal(1, a.SilenceRatio);
        Assert.Empty(a.Segments);
    }

    [Fact]
    public void Audio_longer_than_max_duration_is_rejected_from_the_header()
    {
        var options = new AudioProcessingOptions { MaxDuration = TimeSpan.FromSeconds(1.5) };

        var error = Assert.Throws<UnprocessableAudioException>(() => ProcessWav(Wav(PaddedTone(Rate), Rate), options));

        Assert.Contains("1.5 s limit", error.Message);
        Assert.Contains("MaxDuration", error.Message);
    }

    [Fact]
    public void Audio_exactly_max_duration_long_is_accepted()
    {
        var options = new AudioProcessingOptions { MaxDuration = TimeSpan.FromSeconds(2) };

        Assert.Equal(2.0, ProcessWav(Wav(PaddedTone(44100), 44100), options).Analysis.DurationSeconds, 3);
    }

    public static TheoryData<string, byte[]> Unprocessable => new()
    {
        { "empty", [] },
        { "garbage", Enumerable.Range(0, 4000).Select(i => (byte)(i * 37 + i / 7)).ToArray() },
        { "truncated header", Wav(PaddedTone(Rate), Rate)[..30] },
        { "RIFF only", "RIFF"u8.ToArray() },
        { "no samples", Wav(Silence(0, Rate), Rate) },
        { "ADPCM", AdpcmWav() },
        { "12-bit PCM", Wav12Bit() },
        { "header claiming 2 GHz", Wav(Tone(440, 0.1, Rate), sampleRate: 2_000_000_000) },
        { "33 channels", Wav(Tone(440, 0.1, Rate), Rate, channels: 33) },
    };

    [Theory]
    [MemberData(nameof(Unprocessable))]
    public void Undecodable_wav_is_unprocessable(string name, byte[] wav)
    {
        var error = Assert.Throws<UnprocessableAudioException>(() => ProcessWav(wav));
        Assert.False(string.IsNullOrWhiteSpace(error.Message), name);
    }

    [Fact]
    public void Unsupported_encodings_are_named()
    {
        var error = Assert.Throws<UnprocessableAudioException>(() => ProcessWav(AdpcmWav()));
        Assert.Contains("Adpcm", error.Message);
    }

    [Theory]
    [InlineData("audio/mpeg")]
    [InlineData("audio/ogg")]
    public void Wav_or_garbage_under_another_content_type_is_unprocessable(string contentType)
    {
        Assert.Throws<UnprocessableAudioException>(() => Processor.Process(Wav(PaddedTone(Rate), Rate), contentType));
        Assert.Throws<UnprocessableAudioException>(() => Processor.Process(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, contentType));
    }

    [Fact]
    public void Truncated_data_is_decoded_as_far_as_it_goes()
    {
        var wav = Wav(Tone(440, 1, Rate), Rate);

        var a = ProcessWav(wav[..(44 + Rate)]).Analysis; // header + 0.5 s of 16-bit samples

        Assert.Equal(0.5, a.DurationSeconds, 3);
    }

    [Fact]
    public void Progress_rises_to_1()
    {
        var progress = new RecordingProgress();

        Processor.Process(Wav(PaddedTone(Rate), Rate), "audio/wav", progress);

        Assert.NotEmpty(progress.Values);
        Assert.Equal(progress.Values.Order(), progress.Values);
        Assert.All(progress.Values, v => Assert.InRange(v, 0, 1));
        Assert.Equal(1, progress.Values[^1]);
    }

    [Fact]
    public void Cancellation_is_not_mistaken_for_bad_audio()
    {
        Assert.Throws<OperationCanceledException>(() =>
            Processor.Process(Wav(PaddedTone(Rate), Rate), "audio/wav", cancellationToken: new CancellationToken(canceled: true)));
    }

    /// <summary>
    /// tone-440hz-1s.mp3: 1 s of 440 Hz at half amplitude, 16 kHz mono 16-bit (as <see cref="TestSignals.Tone"/> makes it),
    /// encoded with LAME 3.100: <c>lame -m m -b 48 tone.wav tone-440hz-1s.mp3</c> (MPEG-2 Layer III, 48 kbit/s, 6.7 KB).
    /// At 32 kbit/s a 16 kHz frame is too small for LAME's Info tag, which records the encoder delay and padding.
    /// </summary>
    [Fact]
    public void Decodes_mp3()
    {
        var mp3 = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Unit", "Audio", "tone-440hz-1s.mp3"));

        var result = Processor.Process(mp3, "audio/mpeg");

        var a = result.Analysis;
        Assert.Equal("mp3", a.FormatIn);
        Assert.Equal((16000, 1, 0), (a.SampleRateIn, a.ChannelsIn, a.BitsPerSampleIn));
        // NLayer cuts the encoder delay and padding that the Info tag records, but not the decoder's own
        // delay (529 samples, 33 ms), which shifts the tone later by that much.
        Assert.Equal(1.0, a.DurationSeconds, 0.04);
        Assert.Equal(1.0, a.ProcessedDurationSeconds, 0.04 + 2 * EdgeTolerance);
        Assert.Equal(-6.02, a.PeakDbfs, 1.0);
        Assert.Equal(440, ToneFrequency(ReadPcm16(result.Wav).Samples, 16000), 440 * 0.005);
        Assert.Single(a.Segments);
    }

    static byte[] Wav12Bit()
    {
        var wav = Wav(Tone(440, 0.1, Rate), Rate);
        wav[34] = 12; // bits per sample in the fmt chunk
        return wav;
    }

    sealed class RecordingProgress : IProgress<double>
    {
        public List<double> Values { get; } = [];

        public void Report(double value) => Values.Add(value);
    }
}
