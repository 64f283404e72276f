using System.Collections.Concurrent;
using System.Diagnostics;

namespace Platform.Bench;

public sealed record OpenLoopResult(string Name, long Requests, long Errors, double[] SortedLatencyMs)
{
    public double Percentile(double p) =>
        SortedLatencyMs.Length == 0 ? 0 : SortedLatencyMs[(int)Math.Min(SortedLatencyMs.Length - 1, Math.Ceiling(p * SortedLatencyMs.Length) - 1)];
}

/// <summary>
/// Requests at a fixed rate, each started on schedule whether or not earlier ones have answered. Latency
/// is measured from the moment a request was due, not when it was sent, so a stall shows up in every
/// request it delayed (no coordinated omission).
/// </summary>
public static class OpenLoop
{
    public static async Task<OpenLoopResult> RunAsync(string name, double perSecond, TimeSpan duration, Func<long, Task<bool>> call)
    {
        var latencies = new ConcurrentBag<double>();
        long errors = 0;
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        var total = (long)(perSecond * duration.TotalSeconds);
        for (long i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds(i / perSecond);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }
            var n = i;
            inFlight.Add(Task.Run(async () =>
            {
                bool ok;
                try
                {
                    ok = await call(n);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    ok = false;
                }
                if (ok)
                {
                    latencies.Add((clock.Elapsed - due).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref errors);
                }
            }));
        }
        await Task.WhenAll(inFlight);
        return new OpenLoopResult(name, total, errors, latencies.Order().ToArray());
    }
}
