using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Google.Protobuf;
using Platform.AudioQueue.V1;
using Platform.AudioQueue.Worker;
using Platform.Tests.Support;
using Platform.Tests.Unit.Audio;

namespace Platform.Tests.AudioQueue;

public sealed class BuiltInWorkerTestsOnRedis(RedisServerFixture redis) : BuiltInWorkerTests(redis), IClassFixture<RedisServerFixture>;
public sealed class BuiltInWorkerTestsOnGarnet(GarnetFixture redis) : BuiltInWorkerTests(redis), IClassFixture<GarnetFixture>;
public sealed class BuiltInWorkerTestsOnRedisCluster(RedisClusterFixture redis) : BuiltInWorkerTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>The service's own audio worker, end to end: enqueue real audio, watch it processed.</summary>
public abstract class BuiltInWorkerTests(RedisFixture redis) : QueueTest(redis)
{
    async Task<Job> ProcessAsync(byte[] audio, params (string Key, string? Value)[] settings)
    {
        await StartAsync(fakeClock: false, [("AudioQueue:Worker:Enabled", "true"), ("AudioQueue:Worker:Concurrency", "2"), .. settings]);
        var queued = await Queue.EnqueueAsync(new EnqueueRequest { Audio = ByteString.CopyFrom(audio), ContentType = "audio/wav", Tenant = "voice" });
        using var watch = Queue.WatchJob(new GetJobRequest { JobId = queued.JobId });
        Job last = null!;
        while (await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken))
        {
            last = watch.ResponseStream.Current;
        }
        return last;
    }

    [Fact]
    public async Task A_stereo_recording_is_processed_into_16_khz_mono_speech_with_its_analysis()
    {
        const int rate = 44_100;
        var left = TestSignals.Concat(
            TestSignals.Silence(0.5, rate), TestSignals.Tone(440, 1.0, rate), TestSignals.Silence(0.6, rate),
            TestSignals.Tone(440, 0.5, rate), TestSignals.Silence(0.5, rate));

        var job = await ProcessAsync(TestSignals.Wav([left, left], rate));
        var output = await Queue.GetOutputAsync(new GetJobRequest { JobId = job.Id });
        var result = JsonDocument.Parse(job.Result).RootElement;
        var wav = TestSignals.ReadPcm16(output.Audio.ToByteArray());

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal(1.0, job.Progress);
        Assert.Equal(1u, job.Attempts);
        Assert.Equal(3.1, result.GetProperty("duration_seconds").GetDouble(), 2);
        Assert.Equal(rate, result.GetProperty("sample_rate_in").GetInt32());
        Assert.Equal(2, result.GetProperty("channels_in").GetInt32());
        Assert.Equal(2, result.GetProperty("segments").GetArrayLength());
        Assert.Equal(2.1, result.GetProperty("processed_duration_seconds").GetDouble(), 1);
        Assert.Equal("audio/wav", output.ContentType);
        Assert.Equal((1, 16_000, 16), (wav.Channels, wav.SampleRate, wav.Bits));
        Assert.Equal(2.1, wav.Samples.Length / 16_000.0, 1);
    }

    [Fact]
    public async Task With_a_speech_to_text_endpoint_configured_the_result_carries_the_transcript()
    {
        // No speech model runs here, so an OpenAI-compatible stand-in answers /v1/audio/transcriptions: it
        // checks it received the processed audio (a 16 kHz WAV) and the model, and returns a fixed text.
        var received = new List<(string Model, int SampleRate)>();
        await using var provider = await SpeechToTextStandIn.StartAsync(received, "hello from the queue");
        var tone = TestSignals.Concat(TestSignals.Silence(0.2, 8_000), TestSignals.Tone(440, 0.5, 8_000), TestSignals.Silence(0.2, 8_000));

        var job = await ProcessAsync(TestSignals.Wav(tone, 8_000),
            ("AudioQueue:Transcription:Endpoint", provider.BaseAddress + "v1"), ("AudioQueue:Transcription:Model", "whisper-test"));

        Assert.True(job.State == JobState.Succeeded, job.Error);
        Assert.Equal("hello from the queue", JsonDocument.Parse(job.Result).RootElement.GetProperty("transcript").GetString());
        Assert.Equal([("whisper-test", 16_000)], received);
    }

    [Fact]
    public async Task A_failing_speech_to_text_endpoint_costs_the_transcript_not_the_job()
    {
        await using var provider = await SpeechToTextStandIn.StartAsync([], "unused", failWith: 503);
        var tone = TestSignals.Concat(TestSignals.Silence(0.2, 8_000), TestSignals.Tone(440, 0.5, 8_000), TestSignals.Silence(0.2, 8_000));

        var job = await ProcessAsync(TestSignals.Wav(tone, 8_000),
            ("AudioQueue:Transcription:Endpoint", provider.BaseAddress + "v1"), ("AudioQueue:Transcription:Model", "whisper-test"));
        var result = JsonDocument.Parse(job.Result).RootElement;

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal(1u, job.Attempts);
        Assert.False(result.TryGetProperty("transcript", out _));
        Assert.StartsWith("transcription failed", result.GetProperty("transcript_error").GetString());
    }

    [Fact]
    public async Task Undecodable_audio_fails_at_once_with_a_clear_error()
    {
        var job = await ProcessAsync("RIFF....WAVEfmt not really audio"u8.ToArray());

        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal(1u, job.Attempts);
        Assert.Contains("could not be decoded as audio/wav", job.Error);
    }
}

public sealed class AudioWorkerOptionsTests
{
    const long GiB = 1024L * 1024 * 1024;

    [Theory]
    [InlineData(0, 2, 24 * GiB, 2)]  // one job per core
    [InlineData(0, 8, 1 * GiB, 4)]   // memory for four jobs only
    [InlineData(0, 4, GiB / 8, 1)]   // always at least one
    [InlineData(3, 2, 24 * GiB, 3)]  // configured wins
    public void Concurrency_comes_from_the_hardware_unless_configured(int configured, int cores, long memory, int expected) =>
        Assert.Equal(expected, new AudioWorkerOptions { Concurrency = configured }.Resolve(cores, memory));
}

/// <summary>A minimal OpenAI-compatible speech-to-text endpoint on a loopback port.</summary>
sealed class SpeechToTextStandIn(WebApplication app) : IAsyncDisposable
{
    public string BaseAddress => app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First() + "/";

    /// <param name="failWith">An HTTP status to answer every request with instead (a provider that is down).</param>
    public static async Task<SpeechToTextStandIn> StartAsync(List<(string Model, int SampleRate)> received, string text, int? failWith = null)
    {
        // Its own content root: the test output's appsettings.json (a service's) would also bind that service's fixed
        // ports (5101, 5111), which another stand-in running at the same time, or a local platform, already holds.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Path.GetTempPath() });
        // HTTP/1.1 explicitly: Kestrel's default for a code-defined endpoint is HTTP/1.1 and HTTP/2.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0,
            listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1));
        var app = builder.Build();
        app.MapPost("/v1/audio/transcriptions", async (HttpRequest request) =>
        {
            if (failWith is { } status)
            {
                return Results.StatusCode(status);
            }
            var form = await request.ReadFormAsync();
            using var audio = new MemoryStream();
            await form.Files[0].CopyToAsync(audio);
            lock (received)
            {
                received.Add((form["model"].ToString(), TestSignals.ReadPcm16(audio.ToArray()).SampleRate));
            }
            return Results.Json(new { text });
        });
        await app.StartAsync();
        return new SpeechToTextStandIn(app);
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();
}
