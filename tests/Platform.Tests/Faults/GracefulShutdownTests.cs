using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;
using Platform.Tests.Unit.Audio;
using Duration = Google.Protobuf.WellKnownTypes.Duration;

namespace Platform.Tests.Faults;

public sealed class GracefulShutdownTestsOnRedis(RedisServerFixture redis) : GracefulShutdownTests(redis), IClassFixture<RedisServerFixture>;
public sealed class GracefulShutdownTestsOnGarnet(GarnetFixture redis) : GracefulShutdownTests(redis), IClassFixture<GarnetFixture>;

/// <summary>
/// SIGTERM (what Kubernetes, systemd and docker send) to a service running as its own process, while work is in
/// flight: the work finishes or is handed back, nothing waits for a timeout, and the process exits 0.
/// </summary>
public abstract class GracefulShutdownTests(RedisFixture redis) : HostedTest
{
    /// <summary>Half a second of tone between silences: speech to the analysis, so the worker asks for a transcript.</summary>
    internal static readonly ByteString Speech = ByteString.CopyFrom(TestSignals.Wav(
        TestSignals.Concat(TestSignals.Silence(0.2, 8_000), TestSignals.Tone(440, 0.5, 8_000), TestSignals.Silence(0.2, 8_000)), 8_000));

    [Fact]
    public async Task The_built_in_worker_stops_leasing_finishes_a_job_within_its_grace_gives_back_the_other_and_the_process_exits_0()
    {
        redis.RequireAvailable();
        await redis.FlushAsync();
        // Every job the worker takes waits on this provider for its transcript until the test says.
        await using var transcriber = await HeldUpstream.StartAsync();
        var service = Track(await ServiceProcess.StartAsync("AudioQueue", redis.Endpoint!, new Dictionary<string, string?>
        {
            ["AudioQueue:Worker:Concurrency"] = "2",
            // Five minutes: a job that is QUEUED right after the exit was given back, not left to a lease running out.
            ["AudioQueue:Worker:LeaseDuration"] = "00:05:00",
            ["AudioQueue:Worker:ShutdownGrace"] = "00:00:05",
            ["AudioQueue:Transcription:Endpoint"] = transcriber.Endpoint,
            ["AudioQueue:Transcription:Model"] = "held",
        }));
        // Reads the queue after the process is gone: a second replica with its worker off.
        var observer = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(Start<AudioQueueService>(redis, ("AudioQueue:Worker:Enabled", "false")).Channel());
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(service.Channel());
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await queue.EnqueueAsync(new EnqueueRequest { Audio = Speech, ContentType = "audio/wav", Tenant = "shutdown" })).JobId);
        }
        var first = await transcriber.NextAsync();
        await transcriber.NextAsync(); // both slots are inside a job; the other two jobs wait in the queue

        service.Terminate();
        Assert.True(await service.PrintedAsync("Application is shutting down"), service.Output);
        first.Release("finished during shutdown");
        var exitCode = await service.ExitCodeAsync();

        Assert.True(exitCode == 0, $"exit code {exitCode}\n{service.Output}");
        var jobs = await Task.WhenAll(ids.Select(id => observer.GetJobAsync(new GetJobRequest { JobId = id }).ResponseAsync));
        var finished = Assert.Single(jobs, job => job.State == JobState.Succeeded);
        Assert.True(finished.Result.Contains("transcript\""), string.Join("\n", jobs.Select(j => j.ToString())) + "\n" + service.Output);
        Assert.Equal("finished during shutdown", JsonDocument.Parse(finished.Result).RootElement.GetProperty("transcript").GetString());
        // The job still waiting for its transcript when the grace ran out, and the two never leased: queued,
        // no attempt counted, no worker, nothing processing.
        Assert.All(jobs.Where(job => job != finished), job => Assert.Equal((JobState.Queued, 0u, ""), (job.State, job.Attempts, job.WorkerId)));
        var stats = await observer.GetStatsAsync(new Platform.AudioQueue.V1.GetStatsRequest());
        Assert.Equal((0ul, 3ul), (stats.Processing, stats.Depth));
    }

    [Fact]
    public async Task A_lookup_waiting_for_another_callers_fill_gets_its_hit_while_the_cache_shuts_down_and_the_process_exits_0()
    {
        redis.RequireAvailable();
        var service = Track(await ServiceProcess.StartAsync("Cache", redis.Endpoint!));
        // The replica that stays up (a rolling restart): the filling caller's call lands there.
        var peer = new Platform.Cache.V1.Cache.CacheClient(Start<CacheService>(redis).Channel());
        var cache = new Platform.Cache.V1.Cache.CacheClient(service.Channel());
        var key = Guid.NewGuid().ToString();
        var leased = await cache.LookupAsync(new LookupRequest { Namespace = "shutdown", Key = key, LeaseTtl = Duration.FromTimeSpan(TimeSpan.FromSeconds(60)) });
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, leased.ResultCase);

        var waiting = cache.LookupAsync(new LookupRequest { Namespace = "shutdown", Key = key, MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(50)) }).ResponseAsync;
        Assert.True(await Eventually.TrueAsync(async () =>
            (await cache.GetStatsAsync(new Platform.Cache.V1.GetStatsRequest { Namespace = "shutdown" })).LeaseWaits > 0), "the second lookup never waited");
        service.Terminate();
        Assert.True(await service.PrintedAsync("Application is shutting down"), service.Output);
        await peer.FillAsync(new FillRequest
        {
            Namespace = "shutdown", Key = key, Token = leased.Lease.Token, Value = ByteString.CopyFromUtf8("filled"), Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
        });
        var answer = await waiting;
        var exitCode = await service.ExitCodeAsync();

        Assert.Equal(LookupResponse.ResultOneofCase.Hit, answer.ResultCase);
        Assert.True(answer.Hit.Waited);
        Assert.Equal("filled", answer.Hit.Value.ToStringUtf8());
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{service.Output}");
    }

    [Fact]
    public async Task A_chat_completion_in_flight_is_answered_while_chatapi_shuts_down_and_the_process_exits_0()
    {
        redis.RequireAvailable();
        await using var model = await HeldUpstream.StartAsync();
        var rateLimit = Start<RateLimiterService>(redis);
        var cache = Start<CacheService>(redis);
        var service = Track(await ServiceProcess.StartAsync("ChatApi", redis.Endpoint!, new Dictionary<string, string?>
        {
            ["services:ratelimit:http:0"] = rateLimit.GrpcAddress.ToString(),
            ["services:cache:http:0"] = cache.GrpcAddress.ToString(),
            ["Chat:Upstream:Endpoint"] = model.Endpoint,
            ["Chat:Upstream:Model"] = "held-model",
        }));
        using var http = new HttpClient { BaseAddress = service.HttpAddress };

        var answer = http.PostAsync("/v1/chat/completions", new StringContent(
            JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "still there? " + Guid.NewGuid() } } }), Encoding.UTF8, "application/json"));
        var held = await model.NextAsync(); // ChatApi is waiting for the model
        service.Terminate();
        Assert.True(await service.PrintedAsync("Application is shutting down"), service.Output);
        held.Release("answered while shutting down");
        using var response = await answer;
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var exitCode = await service.ExitCodeAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("answered while shutting down", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{service.Output}");
    }
}
