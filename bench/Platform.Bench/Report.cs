namespace Platform.Bench;

public static class Report
{
    /// <summary>A Markdown table; ratios are against the first scenario (the no-op baseline) and the Check scenario.</summary>
    public static void Print(IReadOnlyList<ScenarioResult> results)
    {
        var baseline = results[0];
        var single = results.FirstOrDefault(r => r.Name == "RateLimiter.Check") ?? baseline;
        Console.WriteLine();
        Console.WriteLine("| Scenario | calls/s | decisions/s | p50 ms | p99 ms | errors | calls/s vs baseline | decisions/s vs Check |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Console.WriteLine($"| {r.Name} | {r.CallsPerSecond:N0} | {r.DecisionsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.Errors} | " +
                              $"{r.CallsPerSecond / baseline.CallsPerSecond:0.00}x | {r.DecisionsPerSecond / single.DecisionsPerSecond:0.00}x |");
        }
    }
}
