using Grpc.Health.V1;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;

namespace Platform.Tests.Faults;

public sealed class ReplicaCrashTestsOnRedis(RedisServerFixture redis) : ReplicaCrashTests(redis), IClassFixture<RedisServerFixture>;
public sealed class ReplicaCrashTestsOnGarnet(GarnetFixture redis) : ReplicaCrashTests(redis), IClassFixture<GarnetFixture>;

/// <summary>Two AudioQueue replicas (processes) on one Redis; one is killed (SIGKILL) in the middle of its jobs.</summary>
public abstract class ReplicaCrashTests(RedisFixture redis) : HostedTest
{
    [Fact]
    public async Task The_other_replica_keeps_serving_and_the_dead_ones_jobs_are_redelivered_when_their_leases_expire_and_completed()
    {
        redis.RequireAvailable();
        await redis.FlushAsync();
        // The doomed replica's worker waits here for transcripts that never come, holding its leases.
        await using var transcriber = await HeldUpstream.StartAsync();
        var doomed = Track(await ServiceProcess.StartAsync("AudioQueue", redis.Endpoint!, new Dictionary<string, string?>
        {
            ["AudioQueue:Worker:Concurrency"] = "2",
            ["AudioQueue:Worker:LeaseDuration"] = "00:00:03",
            ["AudioQueue:Transcription:Endpoint"] = transcriber.Endpoint,
            ["AudioQueue:Transcription:Model"] = "held",
        }));
        var toDoomed = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(doomed.Channel());
        var orphans = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            orphans.Add((await toDoomed.EnqueueAsync(new EnqueueRequest { Audio = GracefulShutdownTests.Speech, ContentType = "audio/wav", Tenant = "replicas" })).JobId);
        }
        await transcriber.NextAsync();
        await transcriber.NextAsync();
        // The survivor has no transcription configured: it finishes a job as soon as it gets one.
        var survivor = Track(await ServiceProcess.StartAsync("AudioQueue", redis.Endpoint!, new Dictionary<string, string?> { ["AudioQueue:Worker:Concurrency"] = "2" }));
        var toSurvivor = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(survivor.Channel());
        var held = await Task.WhenAll(orphans.Select(id => toSurvivor.GetJobAsync(new GetJobRequest { JobId = id }).ResponseAsync));
        Assert.All(held, job => Assert.Equal((JobState.Processing, true), (job.State, job.WorkerId.Contains($"-{doomed.Id}-", StringComparison.Ordinal))));

        doomed.Kill();
        // The survivor answers and works on, whatever happened to its peer.
        var fresh = (await toSurvivor.EnqueueAsync(new EnqueueRequest { Audio = GracefulShutdownTests.Speech, ContentType = "audio/wav", Tenant = "replicas" })).JobId;
        Job[] jobs = [];
        var done = await Eventually.TrueAsync(async () =>
        {
            jobs = await Task.WhenAll(orphans.Append(fresh).Select(id => toSurvivor.GetJobAsync(new GetJobRequest { JobId = id }).ResponseAsync));
            return jobs.All(job => job.State == JobState.Succeeded);
        });

        Assert.True(done, "not every job succeeded after the replica died:\n" + string.Join("\n", jobs.Select(j => j.ToString())) + "\n" + survivor.Output);
        // Each orphan was leased twice (by the dead replica, then by the survivor) and completed once, by the survivor.
        Assert.All(jobs.Take(2), job => Assert.Equal((2u, true), (job.Attempts, job.WorkerId.Contains($"-{survivor.Id}-", StringComparison.Ordinal))));
        Assert.Equal(1u, jobs[2].Attempts);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await new Health.HealthClient(survivor.Channel()).CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(0ul, (await toSurvivor.GetStatsAsync(new GetStatsRequest())).Processing);
    }
}
