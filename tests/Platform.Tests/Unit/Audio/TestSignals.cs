namespace Platform.Tests.Unit.Audio;

public enum WavEncoding { Pcm8, Pcm16, Pcm24, Pcm32, Float32 }

/// <summary>
/// Signals and WAV files made in code, so every expected value in the tests follows from how the input was built.
/// The WAV writer here is independent of NAudio on purpose: it checks the decoder rather than agreeing with it.
/// </summary>
public static class TestSignals
{
    public static float[] Tone(double frequency, double seconds, int sampleRate, double amplitude = 0.5)
    {
        var samples = new float[(int)Math.Round(seconds * sampleRate)];
        for (var i = 0; i < samples.Length; i++)
            samples[i] = (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / sampleRate));
        return samples;
    }

    public static float[] Silence(double seconds, int sampleRate) => new float[(int)Math.Round(seconds * sampleRate)];

    public static float[] Concat(params float[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>A WAV of <paramref name="mono"/> copied to every channel.</summary>
    public static byte[] Wav(float[] mono, int sampleRate, WavEncoding encoding = WavEncoding.Pcm16, int channels = 1, bool extensible = false) =>
        Wav(Enumerable.Repeat(mono, channels).ToArray(), sampleRate, encoding, extensible);

    /// <summary>A WAV with one signal per channel (all the same length).</summary>
    public static byte[] Wav(float[][] channels, int sampleRate, WavEncoding encoding = WavEncoding.Pcm16, bool extensible = false)
    {
        var bits = encoding switch { WavEncoding.Pcm8 => 8, WavEncoding.Pcm16 => 16, WavEncoding.Pcm24 => 24, _ => 32 };
        var isFloat = encoding == WavEncoding.Float32;
        var data = new MemoryStream();
        var samples = new BinaryWriter(data);
        for (var i = 0; i < channels[0].Length; i++)
            foreach (var channel in channels)
                WriteSample(samples, channel[i], encoding);

        var blockAlign = (short)(channels.Length * bits / 8);
        var fmt = new MemoryStream();
        var f = new BinaryWriter(fmt);
        f.Write(extensible ? unchecked((short)0xFFFE) : isFloat ? (short)3 : (short)1);
        f.Write((short)channels.Length);
        f.Write(sampleRate);
        f.Write(sampleRate * blockAlign);
        f.Write(blockAlign);
        f.Write((short)bits);
        if (extensible)
        {
            f.Write((short)22);
            f.Write((short)bits); // valid bits
            f.Write(channels.Length == 2 ? 3 : 4); // front left + right, or front centre
            f.Write(new Guid(isFloat ? "00000003-0000-0010-8000-00aa00389b71" : "00000001-0000-0010-8000-00aa00389b71").ToByteArray());
        }
        return Riff(fmt.ToArray(), data.ToArray());
    }

    /// <summary>A WAV header for Microsoft ADPCM (4-bit), which the processor does not decode, over arbitrary data.</summary>
    public static byte[] AdpcmWav()
    {
        var fmt = new MemoryStream();
        var f = new BinaryWriter(fmt);
        f.Write((short)2);
        f.Write((short)1);
        f.Write(16000);
        f.Write(8000);
        f.Write((short)256); // block align
        f.Write((short)4);
        f.Write((short)32); // extra bytes: samples per block, coefficient count, 7 coefficient pairs
        f.Write((short)500);
        f.Write((short)7);
        short[] coefficients = [256, 0, 512, -256, 0, 0, 192, 64, 240, 0, 460, -208, 392, -232];
        foreach (var c in coefficients) f.Write(c);
        return Riff(fmt.ToArray(), new byte[4096]);
    }

    static byte[] Riff(byte[] fmt, byte[] data)
    {
        var file = new MemoryStream();
        var w = new BinaryWriter(file);
        w.Write("RIFF"u8);
        w.Write(4 + 8 + fmt.Length + 8 + data.Length);
        w.Write("WAVE"u8);
        w.Write("fmt "u8);
        w.Write(fmt.Length);
        w.Write(fmt);
        w.Write("data"u8);
        w.Write(data.Length);
        w.Write(data);
        return file.ToArray();
    }

    static void WriteSample(BinaryWriter w, float sample, WavEncoding encoding)
    {
        var s = Math.Clamp(sample, -1.0, 1.0);
        switch (encoding)
        {
            case WavEncoding.Pcm8: w.Write((byte)Math.Round(128 + s * 127)); break;
            case WavEncoding.Pcm16: w.Write((short)Math.Round(s * short.MaxValue)); break;
            case WavEncoding.Pcm24:
                var v = (int)Math.Round(s * 8388607);
                w.Write((byte)v); w.Write((byte)(v >> 8)); w.Write((byte)(v >> 16));
                break;
            case WavEncoding.Pcm32: w.Write((int)Math.Round(s * int.MaxValue)); break;
            case WavEncoding.Float32: w.Write((float)s); break;
        }
    }

    /// <summary>The format and samples of a 16-bit PCM WAV, read chunk by chunk.</summary>
    public static (short Format, int Channels, int SampleRate, int Bits, short[] Samples) ReadPcm16(byte[] wav)
    {
        var r = new BinaryReader(new MemoryStream(wav));
        Assert.Equal("RIFF", new string(r.ReadChars(4)));
        Assert.Equal(wav.Length - 8, r.ReadInt32());
        Assert.Equal("WAVE", new string(r.ReadChars(4)));
        (short Format, int Channels, int SampleRate, int Bits)? fmt = null;
        while (true)
        {
            var id = new string(r.ReadChars(4));
            var size = r.ReadInt32();
            if (id == "fmt ")
            {
                var body = new BinaryReader(new MemoryStream(r.ReadBytes(size)));
                var format = body.ReadInt16();
                var channels = body.ReadInt16();
                var rate = body.ReadInt32();
                body.ReadInt32();
                body.ReadInt16();
                fmt = (format, channels, rate, body.ReadInt16());
            }
            else if (id == "data")
            {
                Assert.NotNull(fmt);
                var samples = new short[size / 2];
                for (var i = 0; i < samples.Length; i++) samples[i] = r.ReadInt16();
                return (fmt.Value.Format, fmt.Value.Channels, fmt.Value.SampleRate, fmt.Value.Bits, samples);
            }
            else r.ReadBytes(size + (size & 1));
        }
    }

    /// <summary>
    /// Frequency of a tone from its rising crossings, one per cycle. A crossing counts only once the signal
    /// has been below -25 % of its peak and then rises above +25 %, so codec noise around zero is ignored.
    /// </summary>
    public static double ToneFrequency(short[] samples, int sampleRate)
    {
        var hysteresis = samples.Max(s => Math.Abs((int)s)) / 4;
        int first = -1, last = -1, cycles = 0;
        var armed = false;
        for (var i = 0; i < samples.Length; i++)
        {
            if (samples[i] < -hysteresis) armed = true;
            if (!armed || samples[i] <= hysteresis) continue;
            armed = false;
            if (first < 0) first = i;
            else cycles++;
            last = i;
        }
        return (double)cycles * sampleRate / (last - first);
    }

    public static double PeakDbfs(short[] samples) =>
        20 * Math.Log10(samples.Max(s => Math.Abs((int)s)) / 32768.0);
}
