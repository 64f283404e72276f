using System.Diagnostics;

namespace Platform.Bench;

/// <param name="Cost">What the measured service process spent during the round; null when no service is measured.</param>
public sealed record ScenarioResult(string Name, long Calls, int DecisionsPerCall, TimeSpan Elapsed, double P50Ms, double P99Ms, long Errors, ServiceCost? Cost)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;
    public double DecisionsPerSecond => CallsPerSecond * DecisionsPerCall;
    public double? BytesPerCall => Cost is { } cost && Calls > 0 ? (double)cost.AllocatedBytes / Calls : null;
    public double? GcPausePercent => Cost is { } cost ? 100 * cost.GcPause / Elapsed : null;
}

/// <summary>
/// One thing to measure: N closed-loop callers running <see cref="Call"/>. <see cref="Service"/> is the
/// process whose allocations, GC pauses and memory the round is charged to (none for a raw Redis baseline).
/// </summary>
public sealed record Scenario(string Name, int Concurrency, int OperationsPerCall, Func<long, Task> Call, ServiceProcess? Service = null);

/// <summary>N workers, each sending its next call as soon as the previous one answers, for a fixed time.</summary>
public static class ClosedLoop
{
    /// <summary>
    /// Runs the scenarios in interleaved rounds (A B C, A B C, ...) and keeps each scenario's median
    /// round, so a slow patch of the shared machine does not land on one scenario only.
    /// </summary>
    public static async Task<IReadOnlyList<ScenarioResult>> RunInterleavedAsync(IReadOnlyList<Scenario> scenarios, int rounds, TimeSpan perRound)
    {
        var results = scenarios.Select(_ => new List<ScenarioResult>()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < scenarios.Count; i++)
            {
                var s = scenarios[i];
                results[i].Add(await RunAsync(s.Name, s.Concurrency, perRound, s.OperationsPerCall, s.Call, s.Service));
            }
        }
        return results.Select(r => r.OrderBy(x => x.CallsPerSecond).ElementAt(r.Count / 2)).ToList();
    }

    public static async Task<ScenarioResult> RunAsync(string name, int concurrency, TimeSpan duration, int decisionsPerCall, Func<long, Task> call, ServiceProcess? service = null)
    {
        var latencies = new List<long>[concurrency];
        long errors = 0;
        var before = service is null ? null : await service.RuntimeAsync();
        using var rss = service?.SampleRss();
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<long>(100_000);
            for (long i = w; stopwatch.Elapsed < duration; i += concurrency)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await call(i);
                    mine.Add(Stopwatch.GetTimestamp() - started);
                }
                catch (Grpc.Core.RpcException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var elapsed = stopwatch.Elapsed;
        ServiceCost? cost = null;
        if (service is not null && before is not null && rss is not null)
        {
            var after = await service.RuntimeAsync();
            cost = new ServiceCost(
                (long)(after.AllocatedBytes - before.AllocatedBytes),
                after.GcPause.ToTimeSpan() - before.GcPause.ToTimeSpan(),
                rss.PeakBytes);
        }

        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, Math.Ceiling(p * all.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        return new ScenarioResult(name, all.Length, decisionsPerCall, elapsed, Percentile(0.50), Percentile(0.99), errors, cost);
    }
}

/// <summary>What a service process spent during one round: managed bytes allocated, GC pause time, the most RSS seen.</summary>
public sealed record ServiceCost(long AllocatedBytes, TimeSpan GcPause, long PeakRssBytes);
