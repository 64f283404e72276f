using System.Diagnostics;

namespace Platform.Bench;

public sealed record ScenarioResult(string Name, long Calls, int DecisionsPerCall, TimeSpan Elapsed, double P50Ms, double P99Ms, long Errors)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;
    public double DecisionsPerSecond => CallsPerSecond * DecisionsPerCall;
}

/// <summary>One thing to measure: N closed-loop callers running <see cref="Call"/>.</summary>
public sealed record Scenario(string Name, int Concurrency, int OperationsPerCall, Func<long, Task> Call);

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
                results[i].Add(await RunAsync(s.Name, s.Concurrency, perRound, s.OperationsPerCall, s.Call));
            }
        }
        return results.Select(r => r.OrderBy(x => x.CallsPerSecond).ElementAt(r.Count / 2)).ToList();
    }

    public static async Task<ScenarioResult> RunAsync(string name, int concurrency, TimeSpan duration, int decisionsPerCall, Func<long, Task> call)
    {
        var latencies = new List<long>[concurrency];
        long errors = 0;
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

        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, Math.Ceiling(p * all.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        return new ScenarioResult(name, all.Length, decisionsPerCall, elapsed, Percentile(0.50), Percentile(0.99), errors);
    }
}
