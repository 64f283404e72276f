using Microsoft.Extensions.Time.Testing;
using Platform.LoadTest;
using Spectre.Console;

namespace Platform.Tests.LoadTest;

public sealed class LoadMetricsTests
{
    [Fact]
    public void Percentiles_come_from_the_recorded_latencies()
    {
        var metrics = new LoadMetrics();
        for (var ms = 1; ms <= 100; ms++)
        {
            metrics.Record(TimeSpan.FromMilliseconds(ms), Sample.Ok);
        }

        var latency = Percentiles.Of(metrics.Latency)!;

        // HdrHistogram keeps three significant digits: within 0.1 %.
        Assert.Equal(50, latency.P50, 0.05);
        Assert.Equal(90, latency.P90, 0.09);
        Assert.Equal(99, latency.P99, 0.1);
        Assert.Equal(100, latency.Max, 0.1);
    }

    [Fact]
    public void Overhead_is_latency_minus_the_models_time_and_failures_are_counted_apart()
    {
        var metrics = new LoadMetrics();
        metrics.Record(TimeSpan.FromMilliseconds(805), new Sample(UpstreamMs: 800, Cache: "MISS"));
        metrics.Record(TimeSpan.FromMilliseconds(3), new Sample(UpstreamMs: 0, Cache: "HIT"));
        metrics.Record(TimeSpan.FromMilliseconds(2), new Sample(RateLimited: true));
        metrics.Record(TimeSpan.FromSeconds(30), Sample.Failed("HTTP 503"));
        metrics.RecordQueueWait(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(11));
        metrics.RecordQueueWait(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20));

        var report = PhaseReport.From("chat", metrics, TimeSpan.FromSeconds(2));

        Assert.Equal(4, report.Requests);
        Assert.Equal(2, report.ThroughputPerSecond);
        Assert.Equal(1, report.Errors);
        Assert.Equal(1, report.ErrorsByKind["HTTP 503"]);
        Assert.Equal(1, report.RateLimited);
        Assert.Equal(805, report.LatencyMs!.Max, 1.0); // the failure's 30 s is not a latency
        Assert.Equal(5, report.OverheadMs!.Max, 0.01);
        Assert.Equal(0.5, report.CacheHitRatio);
        Assert.Equal(0.5, report.QueueWait!.WithinQuarter); // 10 s for 11 s is within 25 %; 10 s for 20 s is not
    }

    [Fact]
    public async Task A_fixed_rate_run_times_requests_from_when_they_were_due()
    {
        // The driver is held up for a second (as a stalled machine would be): the nine requests due in
        // that second are sent late, and each one's latency includes its lateness (no coordinated omission).
        var time = new FakeTimeProvider();
        var metrics = new LoadMetrics();

        var run = Drivers.FixedRateAsync(10, TimeSpan.FromSeconds(1), (_, _) => Task.FromResult(Sample.Ok), metrics, time, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        await run;

        var latency = Percentiles.Of(metrics.Latency)!;
        Assert.Equal(10, metrics.Requests);
        Assert.InRange(latency.Max, 899, 1001); // due at 100 ms, sent at 1 s
        Assert.InRange(latency.P50, 399, 601);
    }

    [Fact]
    public void The_report_prints_a_table_and_writes_json()
    {
        var metrics = new LoadMetrics();
        metrics.Record(TimeSpan.FromMilliseconds(12), new Sample(UpstreamMs: 10, Cache: "HIT"));
        var baseline = new LoadMetrics();
        baseline.Record(TimeSpan.FromMilliseconds(1), Sample.Ok);
        var report = new LoadReport("chat", DateTimeOffset.UnixEpoch, "1 user", PhaseReport.From("chat", metrics, TimeSpan.FromSeconds(1)),
            [PhaseReport.From("no-op gRPC", baseline, TimeSpan.FromSeconds(1))], new Dictionary<string, double> { ["ChatApi"] = 150 }, 2, 24);
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output), ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;

        report.Write(console);
        var json = System.Text.Json.JsonDocument.Parse(report.ToJson()).RootElement;

        Assert.Contains("p99 ms", output.ToString());
        Assert.Contains("ChatApi 150 MiB", output.ToString());
        Assert.Equal(12, json.GetProperty("result").GetProperty("latency_ms").GetProperty("p99").GetDouble(), 0.1);
        Assert.Equal(2, json.GetProperty("result").GetProperty("overhead_ms").GetProperty("p50").GetDouble(), 0.1);
        Assert.Equal(12, json.GetProperty("ratios").GetProperty("no-op gRPC").GetProperty("p50").GetDouble(), 0.1);
    }
}
