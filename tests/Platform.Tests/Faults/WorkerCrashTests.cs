using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Platform.AudioQueue;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;
using StackExchange.Redis;

namespace Platform.Tests.Faults;

public sealed class WorkerCrashTestsOnRedis(RedisServerFixture redis) : WorkerCrashTests(redis), IClassFixture<RedisServerFixture>;
public sealed class WorkerCrashTestsOnGarnet(GarnetFixture redis) : WorkerCrashTests(redis), IClassFixture<GarnetFixture>;

/// <summary>
/// An external worker process (tests/Platform.FaultWorker) killed with SIGKILL again and again while it works
/// through thousands of jobs: every job ends SUCCEEDED, none is lost and none is completed twice.
/// </summary>
public abstract class WorkerCrashTests(RedisFixture redis) : HostedTest
{
    const int JobCount = 2000;
    const int Slots = 4;

    [Fact]
    public async Task Every_job_succeeds_exactly_once_while_its_worker_is_killed_over_and_over()
    {
        redis.RequireAvailable();
        await redis.FlushAsync();
        var host = Start<AudioQueueService>(redis,
            ("AudioQueue:Worker:Enabled", "false"),
            ("AudioQueue:MaxConcurrency", "1000"),
            // The property under test is delivery; a job unlucky enough to sit in several killed workers in a row
            // must not be dead-lettered for it.
            ("AudioQueue:MaxAttempts", "1000"));
        // Every Complete the service accepts (a retried one with the same token is not counted again).
        using var accepted = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), QueueMetrics.MeterName, "platform.audioqueue.finished");
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(host.Channel());
        var ids = new List<string>();
        foreach (var chunk in Enumerable.Range(0, JobCount).Chunk(50))
        {
            var queued = await Task.WhenAll(chunk.Select(i => queue.EnqueueAsync(new EnqueueRequest
            {
                Audio = ByteString.CopyFromUtf8($"RIFF job {i}"), ContentType = "audio/wav", Tenant = "crash",
            }).ResponseAsync));
            ids.AddRange(queued.Select(q => q.JobId));
        }
        var records = redis.Database;

        var kills = 0;
        while (await queue.GetStatsAsync(new GetStatsRequest()) is var stats && (stats.Depth > 0 || stats.Processing > 0))
        {
            Assert.True(kills < 200, $"still {stats.Depth} queued and {stats.Processing} processing after {kills} workers");
            using var worker = StartWorker(host.GrpcAddress);
            // Killed after a random number of completions (so in the middle of its leased jobs), or once the queue is
            // empty; jobs it held come back when their one-second leases expire, for the next worker.
            var target = await records.ListLengthAsync("faults:completions") + Random.Shared.Next(40, 160);
            var progressed = await UntilAsync(async () =>
                worker.HasExited
                || await records.ListLengthAsync("faults:completions") >= target
                || await queue.GetStatsAsync(new GetStatsRequest()) is { Depth: 0, Processing: 0 });
            if (worker.HasExited)
            {
                Assert.Fail("the worker process exited on its own:\n" + await worker.StandardError.ReadToEndAsync());
            }
            Assert.True(progressed, "the worker made no progress");
            worker.Kill();
            await worker.WaitForExitAsync();
            kills++;
        }

        var jobs = new List<Job>();
        foreach (var chunk in ids.Chunk(100))
        {
            jobs.AddRange(await Task.WhenAll(chunk.Select(id => queue.GetJobAsync(new GetJobRequest { JobId = id }).ResponseAsync)));
        }
        var completions = (await records.ListRangeAsync("faults:completions")).Select(entry => ((string)entry!).Split(' '))
            .GroupBy(entry => entry[0]).ToDictionary(group => group.Key, group => group.Select(entry => entry[1]).ToList());
        var processed = (await records.HashGetAllAsync("faults:processed")).ToDictionary(e => (string)e.Name!, e => (int)e.Value);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{kills} workers killed; {jobs.Count(job => job.Attempts > 1)} jobs leased more than once; " +
            $"{processed.Values.Count(times => times > 1)} processed more than once; {jobs.Count(job => !completions.ContainsKey(job.Id))} successes unrecorded");
        // None lost: every job finished, and as a success.
        Assert.Empty(jobs.Where(job => job.State != JobState.Succeeded).Select(job => $"{job.Id} {job.State}"));
        // None completed twice: the service accepted exactly one Complete per job...
        Assert.Equal(JobCount, accepted.GetMeasurementSnapshot().Where(m => Equals(m.Tags["state"], "succeeded")).Sum(m => m.Value));
        // ...and so did the workers' own records, whose stored result is the recorded completion's.
        Assert.Empty(completions.Where(c => c.Value.Count > 1).Select(c => $"{c.Key} completed by {string.Join(", ", c.Value)}"));
        Assert.Empty(jobs.Where(job => completions.TryGetValue(job.Id, out var tokens)
                                       && JsonDocument.Parse(job.Result).RootElement.GetProperty("token").GetString() != tokens[0]).Select(job => job.Id));
        // A worker killed between the service's answer and its own record leaves a success unrecorded: at most one per slot per kill.
        Assert.InRange(jobs.Count(job => !completions.ContainsKey(job.Id)), 0, kills * Slots);
        // The kills landed mid-job: jobs were leased again after a worker died (delivery is at least once).
        Assert.InRange(kills, 10, 200);
        Assert.Contains(jobs, job => job.Attempts > 1);
        Assert.Contains(processed.Values, times => times > 1);
    }

    /// <summary>
    /// Like <see cref="Eventually"/> (at most 20 s), asking every 10 ms: a worker completes dozens of jobs in
    /// Eventually's 100 ms, and the kill should land near its random target.
    /// </summary>
    static async Task<bool> UntilAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 2000; attempt++)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
        return false;
    }

    /// <summary>tests/Platform.FaultWorker, built next to this test project, as its own process.</summary>
    Process StartWorker(Uri queueAddress)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var dll = Path.Combine(ExternalProcess.RepoRoot, "tests", "Platform.FaultWorker", "bin", output.Parent!.Name, output.Name, "Platform.FaultWorker.dll");
        return Process.Start(new ProcessStartInfo("dotnet", [dll, queueAddress.ToString(), TestCredentials.Tests.Key, redis.Endpoint!, Slots.ToString()])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = false,
            UseShellExecute = false,
        })!;
    }
}
