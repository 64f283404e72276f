using Platform.LoadTest;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;
using Spectre.Console;

namespace Platform.Tests.LoadTest;

/// <summary>The tool against a real RateLimit service: a short fixed-rate run with its baseline.</summary>
public sealed class LoadRunTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task A_fixed_rate_run_sends_every_request_and_reports_ratios_against_the_baseline()
    {
        var ratelimit = Start<RateLimiterService>(redis);
        var (options, problems) = LoadOptions.Parse(
            ["ratelimit", "--rate", "100", "--duration", "1s", "--ratelimit-url", ratelimit.Addresses[0].ToString(), "--redis", redis.Endpoint!, "--baseline", "--no-live", "--platform-key", TestCredentials.Tests.Key]);
        Assert.Empty(problems);

        var report = await LoadRun.RunAsync(options!, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) }),
            TimeProvider.System, TestContext.Current.CancellationToken);

        Assert.Equal(100, report.Result.Requests);
        Assert.Equal(0, report.Result.Errors);
        Assert.Equal(["no-op gRPC (Diagnostics.Ping)", "raw Redis (PING)"], report.Baselines.Select(b => b.Name));
        Assert.All(report.Baselines, b => Assert.Equal(100, b.Requests));
        Assert.Equal(2, report.Ratios.Count);
    }
}
