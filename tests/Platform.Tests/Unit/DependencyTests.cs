using Grpc.Core;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Platform.ChatApi;
using Platform.ServiceDefaults.Health;

namespace Platform.Tests.Unit;

/// <summary>How ChatApi reads a failed call to RateLimit or Cache: overloaded (shed) or down (degrade, said once).</summary>
public sealed class DependencyTests
{
    readonly FakeTimeProvider time = new();
    readonly FakeLogger logger = new();

    Dependency RateLimit() =>
        new("RateLimit", "requests are allowed without rate limits (fail open)", time,
            new OptionsMonitor(new ChatGatewayOptions { DependencyOutageAfter = TimeSpan.FromSeconds(10) }),
            new DegradedDecisions(time, new AlertMonitor()), logger);

    static RpcException Failure(StatusCode code) => new(new Status(code, code.ToString()));

    [Fact]
    public void Refusing_for_load_or_missing_deadlines_while_answering_others_is_overload_and_answering_nothing_for_long_is_an_outage()
    {
        var rateLimit = RateLimit();
        rateLimit.Answered();

        Assert.True(rateLimit.IsOverload(Failure(StatusCode.ResourceExhausted)));
        Assert.True(rateLimit.IsOverload(Failure(StatusCode.DeadlineExceeded)));
        Assert.False(rateLimit.IsOverload(Failure(StatusCode.Unavailable)));

        time.Advance(TimeSpan.FromSeconds(11)); // nothing answered since
        Assert.False(rateLimit.IsOverload(Failure(StatusCode.DeadlineExceeded)));
        Assert.True(Dependency.IsOutage(Failure(StatusCode.DeadlineExceeded)));
        Assert.False(Dependency.IsOutage(Failure(StatusCode.NotFound))); // a configuration problem, not an outage
    }

    [Fact]
    public void An_outage_is_logged_once_when_it_starts_and_once_when_it_ends_however_calls_flap_in_between()
    {
        var rateLimit = RateLimit();
        for (var i = 0; i < 10; i++)
        {
            rateLimit.Degrade(Failure(StatusCode.Unavailable));
            rateLimit.Answered(); // another replica answers between failures
        }
        Assert.True(rateLimit.IsDown);
        Assert.Single(logger.Collector.GetSnapshot());

        time.Advance(TimeSpan.FromSeconds(6));
        rateLimit.Answered();

        Assert.False(rateLimit.IsDown);
        var logs = logger.Collector.GetSnapshot();
        Assert.Equal(2, logs.Count);
        Assert.Contains("RateLimit unreachable", logs[0].Message);
        Assert.Contains("10 requests were served without it", logs[1].Message);
    }

    sealed class OptionsMonitor(ChatGatewayOptions value) : IOptionsMonitor<ChatGatewayOptions>
    {
        public ChatGatewayOptions CurrentValue => value;
        public ChatGatewayOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<ChatGatewayOptions, string?> listener) => null;
    }

    sealed class AlertMonitor : IOptionsMonitor<AlertOptions>
    {
        public AlertOptions CurrentValue { get; } = new();
        public AlertOptions Get(string? name) => CurrentValue;
        public IDisposable? OnChange(Action<AlertOptions, string?> listener) => null;
    }
}
