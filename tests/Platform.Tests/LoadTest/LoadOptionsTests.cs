using Platform.LoadTest;

namespace Platform.Tests.LoadTest;

public sealed class LoadOptionsTests
{
    [Fact]
    public void A_scenario_alone_runs_with_the_defaults()
    {
        var (options, problems) = LoadOptions.Parse(["chat"]);

        Assert.Empty(problems);
        Assert.Equal(100, options!.Users);
        Assert.Equal(TimeSpan.FromSeconds(60), options.Duration);
        Assert.Equal(new Uri("http://localhost:5080"), options.ChatUrl);
        Assert.True(options.IsUserScenario);
    }

    [Fact]
    public void Every_bad_option_is_named_with_its_limit()
    {
        var (options, problems) = LoadOptions.Parse(
            ["chat", "--users", "0", "--duration", "5x", "--popular-share", "2", "--rate", "10", "--chat-url", "ftp://x", "--nope", "1"]);

        Assert.Null(options);
        Assert.Contains(problems, p => p.StartsWith("--users: must be a whole number from 1 to 100000 (got '0')"));
        Assert.Contains(problems, p => p.StartsWith("--duration: must be a duration"));
        Assert.Contains(problems, p => p.StartsWith("--popular-share: must be a share from 0 to 1"));
        Assert.Contains(problems, p => p.StartsWith("--rate: not for chat"));
        Assert.Contains(problems, p => p.StartsWith("--chat-url: must be an http"));
        Assert.Contains(problems, p => p.StartsWith("--nope: unknown option"));
    }

    [Fact]
    public void An_unknown_scenario_lists_the_known_ones()
    {
        var (_, problems) = LoadOptions.Parse(["stress"]);

        Assert.Equal(["scenario: the first argument must be one of chat, voice, mixed, surge, ratelimit, cache, queue"], problems);
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("00:00:10", 10)]
    public void Durations_read_like_people_write_them(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), LoadOptions.ParseDuration(text));
}
