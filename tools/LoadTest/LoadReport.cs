using System.Text.Json;
using System.Text.Json.Serialization;
using HdrHistogram;
using Spectre.Console;

namespace Platform.LoadTest;

public sealed record Percentiles(double P50, double P90, double P99, double Max)
{
    /// <summary>Milliseconds from a histogram of microseconds; null when nothing was recorded.</summary>
    public static Percentiles? Of(HistogramBase micros) => micros.TotalCount == 0 ? null : new(
        micros.GetValueAtPercentile(50) / 1000.0, micros.GetValueAtPercentile(90) / 1000.0,
        micros.GetValueAtPercentile(99) / 1000.0, micros.GetMaxValue() / 1000.0);
}

/// <param name="WithinQuarter">Share of waits whose estimate was within 25 % of the actual wait.</param>
public sealed record QueueWaitSummary(int Samples, double MeanEstimatedSeconds, double MeanActualSeconds, double WithinQuarter);

/// <summary>A phase of the run: the scenario itself, or a baseline measured with the same load.</summary>
public sealed record PhaseReport(
    string Name, long Requests, long Errors, IReadOnlyDictionary<string, long> ErrorsByKind, long RateLimited,
    double ThroughputPerSecond, Percentiles? LatencyMs, Percentiles? OverheadMs, double? CacheHitRatio, QueueWaitSummary? QueueWait)
{
    public static PhaseReport From(string name, LoadMetrics metrics, TimeSpan elapsed)
    {
        var cache = metrics.CacheStatuses;
        var cacheTotal = cache.Values.Sum();
        var waits = metrics.QueueWaits;
        return new PhaseReport(
            name, metrics.Requests, metrics.Errors, new SortedDictionary<string, long>(metrics.ErrorsByKind.ToDictionary()), metrics.RateLimited,
            metrics.Requests / Math.Max(elapsed.TotalSeconds, 0.001),
            Percentiles.Of(metrics.Latency), Percentiles.Of(metrics.Overhead),
            cacheTotal == 0 ? null : (double)cache.GetValueOrDefault("HIT") / cacheTotal,
            waits.Count == 0 ? null : new QueueWaitSummary(
                waits.Count, waits.Average(w => w.EstimatedSeconds), waits.Average(w => w.ActualSeconds),
                (double)waits.Count(w => Math.Abs(w.EstimatedSeconds - w.ActualSeconds) <= 0.25 * Math.Max(w.ActualSeconds, 0.001)) / waits.Count));
    }
}

/// <summary>The whole run: options, the scenario, the baselines, ratios against them, and memory per process.</summary>
public sealed record LoadReport(
    string Scenario, DateTimeOffset Started, string Load, PhaseReport Result, IReadOnlyList<PhaseReport> Baselines,
    IReadOnlyDictionary<string, double> PeakRssMiB, int Cores, double MemoryGiB)
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Latency and throughput of the scenario divided by each baseline's.</summary>
    public IReadOnlyDictionary<string, object> Ratios => Baselines
        .Where(b => b.LatencyMs is not null && Result.LatencyMs is not null)
        .ToDictionary(b => b.Name, b => (object)new
        {
            p50 = Result.LatencyMs!.P50 / b.LatencyMs!.P50,
            p99 = Result.LatencyMs.P99 / b.LatencyMs.P99,
            throughput = Result.ThroughputPerSecond / b.ThroughputPerSecond,
        });

    public string ToJson() => JsonSerializer.Serialize(new
    {
        Scenario, Started, Load, Cores, MemoryGiB, Result, Baselines, Ratios, PeakRssMiB,
    }, Json);

    public void Write(IAnsiConsole console)
    {
        console.MarkupLine($"[bold]{Markup.Escape(Scenario)}[/] — {Markup.Escape(Load)} — {Cores} cores, {MemoryGiB:0.#} GiB");
        var table = new Table().AddColumns("Phase", "requests", "errors", "429", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "overhead p50", "overhead p99", "cache hits");
        foreach (var phase in Baselines.Prepend(Result))
        {
            table.AddRow(
                Markup.Escape(phase.Name), $"{phase.Requests:N0}", $"{phase.Errors:N0}", $"{phase.RateLimited:N0}", $"{phase.ThroughputPerSecond:N0}",
                Ms(phase.LatencyMs?.P50), Ms(phase.LatencyMs?.P90), Ms(phase.LatencyMs?.P99), Ms(phase.LatencyMs?.Max),
                Ms(phase.OverheadMs?.P50), Ms(phase.OverheadMs?.P99), phase.CacheHitRatio is { } ratio ? $"{ratio:P0}" : "-");
        }
        console.Write(table);
        foreach (var (kind, count) in Result.ErrorsByKind)
        {
            console.MarkupLine($"[red]error[/] {Markup.Escape(kind)}: {count:N0}");
        }
        if (Result.QueueWait is { } wait)
        {
            console.MarkupLine($"Queue wait: {wait.Samples} jobs, estimated {wait.MeanEstimatedSeconds:0.00} s vs actual {wait.MeanActualSeconds:0.00} s on average; {wait.WithinQuarter:P0} within 25 %");
        }
        foreach (var (baseline, ratio) in Ratios)
        {
            console.MarkupLine($"vs {Markup.Escape(baseline)}: {Markup.Escape(JsonSerializer.Serialize(ratio))}");
        }
        if (PeakRssMiB.Count > 0)
        {
            console.MarkupLine("Peak memory (RSS): " + string.Join(", ", PeakRssMiB.Select(p => $"{Markup.Escape(p.Key)} {p.Value:0} MiB")));
        }
    }

    static string Ms(double? value) => value is { } ms ? $"{ms:0.00}" : "-";
}
