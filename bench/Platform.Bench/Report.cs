namespace Platform.Bench;

public static class Report
{
    /// <summary>A Markdown table; every ratio is against the first scenario, the no-op baseline.</summary>
    public static void Print(IReadOnlyList<ScenarioResult> results)
    {
        var baseline = results[0];
        Console.WriteLine();
        Console.WriteLine("| Scenario | calls/s | operations/s | p50 ms | p99 ms | errors | calls/s vs no-op | operations/s vs no-op |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Console.WriteLine($"| {r.Name} | {r.CallsPerSecond:N0} | {r.DecisionsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.Errors} | " +
                              $"{r.CallsPerSecond / baseline.CallsPerSecond:0.00}x | {r.DecisionsPerSecond / baseline.CallsPerSecond:0.00}x |");
        }
    }
}
