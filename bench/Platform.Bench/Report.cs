namespace Platform.Bench;

public static class Report
{
    /// <summary>
    /// A Markdown table; every ratio is against the first scenario, the no-op baseline. Bytes per call,
    /// GC pause share and peak RSS are the measured service process's (see <see cref="ServiceCost"/>).
    /// </summary>
    public static void Print(IReadOnlyList<ScenarioResult> results)
    {
        var baseline = results[0];
        Console.WriteLine();
        Console.WriteLine("| Scenario | calls/s | operations/s | p50 ms | p99 ms | errors | calls/s vs no-op | operations/s vs no-op | service B/call | B/call beyond no-op | GC pause | service peak RSS MiB |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var beyond = r.BytesPerCall is { } bytes && baseline.BytesPerCall is { } baseBytes && r != baseline ? $"{bytes - baseBytes:N0}" : "–";
            Console.WriteLine($"| {r.Name} | {r.CallsPerSecond:N0} | {r.DecisionsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.Errors} | " +
                              $"{r.CallsPerSecond / baseline.CallsPerSecond:0.00}x | {r.DecisionsPerSecond / baseline.CallsPerSecond:0.00}x | " +
                              $"{Show(r.BytesPerCall, "N0")} | {beyond} | {Show(r.GcPausePercent, "0.0", "%")} | " +
                              $"{Show(r.Cost?.PeakRssBytes / (1024.0 * 1024), "N0")} |");
        }
    }

    static string Show(double? value, string format, string suffix = "") => value is { } v ? v.ToString(format) + suffix : "–";
}
