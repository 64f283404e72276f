using Microsoft.Extensions.Time.Testing;
using Platform.LoadTest;

namespace Platform.Tests.LoadTest;

/// <summary>The surge scenario's options and its second-by-second report, on a fake clock.</summary>
public sealed class SurgeReportTests
{
    [Fact]
    public void A_surge_is_described_by_its_users_and_its_window_and_must_end_within_the_run()
    {
        var (options, problems) = LoadOptions.Parse(["surge", "--users", "9000", "--base-users", "4500", "--surge-at", "20s", "--surge-for", "20s", "--duration", "60s"]);
        Assert.Empty(problems);
        Assert.Equal((9000, 4500, TimeSpan.FromSeconds(20)), (options!.Users, options.SurgeBaseUsers, options.SurgeFor));
        Assert.Equal(50, LoadOptions.Parse(["surge", "--users", "100"]).Options!.SurgeBaseUsers); // half by default

        var (_, bad) = LoadOptions.Parse(["surge", "--users", "10", "--base-users", "20", "--surge-at", "50s", "--surge-for", "20s", "--duration", "60s"]);
        Assert.Contains(bad, p => p.StartsWith("--base-users: must not be more than --users (10)", StringComparison.Ordinal));
        Assert.Contains(bad, p => p.StartsWith("--surge-for: the surge (--surge-at + --surge-for) must end within --duration (1m)", StringComparison.Ordinal));
    }

    [Fact]
    public void The_report_counts_answers_and_refusals_per_second_and_says_how_soon_after_the_surge_things_were_normal()
    {
        var time = new FakeTimeProvider();
        var metrics = new LoadMetrics(time);
        var (options, _) = LoadOptions.Parse(["surge", "--users", "20", "--ramp-up", "0s", "--surge-at", "2s", "--surge-for", "2s", "--duration", "10s"]);

        void Second(int answered, double overheadMs, int shed)
        {
            for (var i = 0; i < answered; i++)
            {
                metrics.Record(TimeSpan.FromMilliseconds(800 + overheadMs), new Sample(UpstreamMs: 800));
            }
            for (var i = 0; i < shed; i++)
            {
                metrics.Record(TimeSpan.FromMilliseconds(2), new Sample(ShedRetryAfter: TimeSpan.FromSeconds(1)));
            }
            time.Advance(TimeSpan.FromSeconds(1));
        }
        Second(10, 10, 0); Second(10, 10, 0);   // before the surge: p99 10 ms
        Second(10, 300, 5); Second(0, 0, 8);    // the surge: slow, refusals, then a second with no answer
        Second(10, 200, 0);                     // ended, but still slow
        Second(10, 12, 0); Second(10, 11, 0); Second(10, 10, 0); Second(10, 10, 0); Second(10, 10, 0);

        var timeline = TimelineReport.From(metrics, options!);
        var report = PhaseReport.From("surge", metrics, TimeSpan.FromSeconds(10));

        Assert.Equal([10L, 10, 10, 0, 10, 10, 10, 10, 10, 10], timeline.Seconds.Select(s => s.Answered));
        Assert.Equal(13, report.Shed);
        Assert.Equal(0, report.Errors);
        Assert.Equal(1, timeline.SilentSeconds);
        Assert.Equal(1, timeline.RecoverySeconds); // the surge ended at 4 s; from 5 s on, three normal seconds in a row
    }
}
