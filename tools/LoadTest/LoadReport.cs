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
/// <param name="Shed">Requests refused at the door under load (503 with Retry-After); <paramref name="ShedLatencyMs"/>: how fast.</param>
public sealed record PhaseReport(
    string Name, long Requests, long Errors, IReadOnlyDictionary<string, long> ErrorsByKind, long RateLimited,
    double ThroughputPerSecond, Percentiles? LatencyMs, Percentiles? OverheadMs, double? CacheHitRatio, QueueWaitSummary? QueueWait,
    long Shed = 0, Percentiles? ShedLatencyMs = null)
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
                (double)waits.Count(w => Math.Abs(w.EstimatedSeconds - w.ActualSeconds) <= 0.25 * Math.Max(w.ActualSeconds, 0.001)) / waits.Count),
            metrics.Shed, Percentiles.Of(metrics.ShedLatency));
    }
}

/// <summary>One second of a user scenario: requests that ended in it, and the answered ones' overhead.</summary>
public sealed record SecondReport(int Second, long Answered, long Shed, long Errors, double? OverheadP50Ms, double? OverheadP99Ms);

/// <param name="SilentSeconds">Seconds in which no request was answered (a stall), from the first answer to the end.</param>
/// <param name="RecoverySeconds">Surge: from its end until three seconds in a row shed nothing and keep overhead p99 within twice
/// (plus 20 ms) what it was before the surge; null when it never did.</param>
public sealed record TimelineReport(IReadOnlyList<SecondReport> Seconds, int SilentSeconds, double? RecoverySeconds)
{
    public static TimelineReport From(LoadMetrics metrics, LoadOptions options)
    {
        var last = metrics.Timeline.Keys.DefaultIfEmpty(0).Max();
        var seconds = Enumerable.Range(0, last + 1).Select(s => metrics.Timeline.TryGetValue(s, out var second)
            ? new SecondReport(s, second.Answered, second.Shed, second.Errors, Ms(second.Overhead, 50), Ms(second.Overhead, 99))
            : new SecondReport(s, 0, 0, 0, null, null)).ToList();
        var firstAnswer = seconds.FindIndex(s => s.Answered > 0);
        var silent = firstAnswer < 0 ? seconds.Count : seconds.Skip(firstAnswer).Take((int)options.Duration.TotalSeconds - firstAnswer).Count(s => s.Answered == 0);
        return new TimelineReport(seconds, silent, options.Scenario == "surge" ? Recovery(seconds, options) : null);
    }

    static double? Recovery(List<SecondReport> seconds, LoadOptions options)
    {
        var before = seconds.Where(s => s.Second >= options.RampUp.TotalSeconds + 1 && s.Second < options.SurgeAt.TotalSeconds && s.OverheadP99Ms is not null)
            .Select(s => s.OverheadP99Ms!.Value).Order().ToList();
        var normalP99 = before.Count == 0 ? 50 : before[before.Count / 2] * 2 + 20;
        bool Normal(SecondReport s) => s.Shed == 0 && s.OverheadP99Ms <= normalP99;
        var end = (int)(options.SurgeAt + options.SurgeFor).TotalSeconds;
        for (var s = end; s + 2 < seconds.Count; s++)
        {
            if (Normal(seconds[s]) && Normal(seconds[s + 1]) && Normal(seconds[s + 2]))
            {
                return s - end;
            }
        }
        return null;
    }

    static double? Ms(HistogramBase micros, double percentile) => micros.TotalCount == 0 ? null : micros.GetValueAtPercentile(percentile) / 1000.0;
}

/// <summary>The whole run: options, the scenario, the baselines, ratios against them, memory per process, and (user scenarios) second by second.</summary>
public sealed record LoadReport(
    string Scenario, DateTimeOffset Started, string Load, PhaseReport Result, IReadOnlyList<PhaseReport> Baselines,
    IReadOnlyDictionary<string, double> PeakRssMiB, int Cores, double MemoryGiB, TimelineReport? Timeline = null)
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
        Scenario, Started, Load, Cores, MemoryGiB, Result, Baselines, Ratios, PeakRssMiB, Timeline,
    }, Json);

    public void Write(IAnsiConsole console)
    {
        if (Timeline is { } timeline)
        {
            console.MarkupLine("second: answered / shed / errors, overhead p50 / p99 ms of the answered");
            foreach (var s in timeline.Seconds)
            {
                console.MarkupLine($"{s.Second,4} s: {s.Answered,6:N0} / {s.Shed,6:N0} / {s.Errors,4:N0}   {Ms(s.OverheadP50Ms),8} / {Ms(s.OverheadP99Ms),8}");
            }
        }
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
        if (Result.Shed > 0 || Timeline is not null)
        {
            console.MarkupLine($"Shed (503 + Retry-After): {Result.Shed:N0} of {Result.Requests:N0} ({(double)Result.Shed / Math.Max(1, Result.Requests):P2}), " +
                               $"answered in {Ms(Result.ShedLatencyMs?.P50)} ms p50, {Ms(Result.ShedLatencyMs?.P99)} ms p99");
        }
        if (Timeline is { } run)
        {
            console.MarkupLine($"Seconds without an answer: {run.SilentSeconds}" +
                               (Scenario == "surge" ? $"; back to normal {(run.RecoverySeconds is { } r ? $"{r:0} s" : "never")} after the surge ended" : ""));
        }
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
