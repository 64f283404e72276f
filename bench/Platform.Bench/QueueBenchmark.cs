using Google.Protobuf;
using Grpc.Net.Client;
using Platform.AudioQueue.V1;
using Platform.Diagnostics.V1;
using StackExchange.Redis;

namespace Platform.Bench;

/// <summary>
/// No-op jobs through the whole life cycle (Enqueue → Lease → Complete, three RPCs) against three
/// no-op RPCs on the same server, in one run; then the Redis commands one job costs.
/// </summary>
public static class QueueBenchmark
{
    static readonly ByteString Audio = ByteString.CopyFrom(new byte[1024]);

    public static async Task<IReadOnlyList<ScenarioResult>> RunAsync(BenchRedis redis, BenchOptions options)
    {
        await using var service = await ServiceProcess.StartAsync("AudioQueue", redis.Endpoint, new Dictionary<string, string>
        {
            ["AudioQueue__Worker__Enabled"] = "false", // the benchmark plays the workers
            ["AudioQueue__MaxConcurrency"] = "10000",
            ["AudioQueue__MaxDepth"] = "1000000",
        });
        using var channel = service.Channel();
        var ping = new Diagnostics.V1.Diagnostics.DiagnosticsClient(channel);
        var queue = new AudioQueue.V1.AudioQueue.AudioQueueClient(channel);
        var worker = new AudioWorker.AudioWorkerClient(channel);

        async Task ThreePings(long _)
        {
            await ping.PingAsync(new PingRequest());
            await ping.PingAsync(new PingRequest());
            await ping.PingAsync(new PingRequest());
        }
        async Task JobCycle(long i)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Audio = Audio, ContentType = "audio/wav", Tenant = $"t{i % 8}" });
            var leased = await worker.LeaseAsync(new LeaseRequest { WorkerId = "bench", MaxJobs = 1 });
            foreach (var job in leased.Jobs)
            {
                await worker.CompleteAsync(new CompleteRequest { JobId = job.Job.Id, LeaseToken = job.LeaseToken, Result = "{}" });
            }
        }

        await ClosedLoop.RunAsync("warm-up", options.Concurrency, TimeSpan.FromSeconds(3), 1, JobCycle);
        var results = await ClosedLoop.RunInterleavedAsync(
        [
            new("3 x Diagnostics.Ping (no-op gRPC baseline)", options.Concurrency, 1, ThreePings, service),
            new("Job cycle: Enqueue + Lease + Complete", options.Concurrency, 1, JobCycle, service),
        ], options.Rounds, options.Duration);

        await PrintCommandsPerJobAsync(redis.Endpoint, JobCycle);
        return results;
    }

    /// <summary>Redis counts commands run inside scripts too, so this is the real work per job.</summary>
    static async Task PrintCommandsPerJobAsync(string endpoint, Func<long, Task> jobCycle)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(endpoint + ",allowAdmin=true");
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        const int jobs = 1000;
        try
        {
            await server.ExecuteAsync("CONFIG", "RESETSTAT");
            for (var i = 0; i < jobs; i++)
            {
                await jobCycle(i);
            }
            var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToList();
            long Calls(Func<string, bool> which) => stats.Where(s => which(s.Key)).Sum(s =>
                long.Parse(s.Value.Split(',')[0].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));
            var scripts = Calls(k => k is "cmdstat_evalsha" or "cmdstat_eval");
            var all = Calls(k => k.StartsWith("cmdstat_", StringComparison.Ordinal));
            Console.WriteLine($"Per job (Enqueue + Lease + Complete, {jobs} jobs one at a time, housekeeping included): " +
                              $"{(double)scripts / jobs:0.0} script calls, {(double)all / jobs:0.0} Redis commands counting those inside scripts");
        }
        catch (Exception e) when (e is RedisException or FormatException or IndexOutOfRangeException)
        {
            Console.WriteLine($"Redis commands per job: not available from this engine ({e.Message})");
        }
    }
}
