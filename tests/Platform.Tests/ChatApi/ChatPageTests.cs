using Microsoft.Playwright;
using Platform.AudioQueue.Grpc;
using Platform.Cache.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;
using Platform.Tests.Unit.Audio;
using static Microsoft.Playwright.Assertions;

namespace Platform.Tests.ChatApi;

/// <summary>The web page in a real headless Chromium (Debian's, driven by Playwright), against real services.</summary>
public sealed class ChatPageTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Streams_a_reply_shows_the_cache_badge_waits_out_a_rate_limit_and_opens_the_scaling_panel()
    {
        Assert.SkipUnless(File.Exists(Chromium), "Chromium is not installed here (apt-get install chromium); .ci/run installs it.");
        redis.RequireAvailable();
        await redis.FlushAsync();
        // Two requests at once, then one every ten seconds: the third request waits (unless the page took ten
        // seconds to get there, which even a loaded machine does not), then goes through on its own.
        var ratelimit = Start<RateLimiterService>(redis,
            ("RateLimit:Policies:chat:Algorithm", "TokenBucket"), ("RateLimit:Policies:chat:Limit", "6"),
            ("RateLimit:Policies:chat:Window", "00:01:00"), ("RateLimit:Policies:chat:Burst", "2"));
        var cache = Start<CacheService>(redis);
        var chat = Track(ChatApiHost.Start(ratelimit.Addresses[0].ToString(), cache.Addresses[0].ToString()));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(chat.HttpAddress.ToString());
        var answers = page.Locator(".message.assistant");

        async Task AskAsync(string text)
        {
            await page.FillAsync("#question", text);
            await page.ClickAsync("#send");
        }

        await AskAsync("hello from the page");
        await Expect(answers.Nth(0)).ToContainTextAsync("hello from the page");
        await Expect(answers.Nth(0).Locator(".badge")).ToHaveAttributeAsync("data-cache", "MISS");

        await AskAsync("hello from the page");
        await Expect(answers.Nth(1).Locator(".badge")).ToHaveAttributeAsync("data-cache", "HIT");
        await Expect(answers.Nth(1)).ToContainTextAsync("hello from the page");

        await AskAsync("one more, please");
        await Expect(page.Locator("#status")).ToContainTextAsync("Retrying in");
        await Expect(answers.Nth(2)).ToContainTextAsync("one more, please", new() { Timeout = 30_000 });
        await Expect(answers.Nth(2).Locator(".badge")).ToHaveAttributeAsync("data-cache", "MISS");

        await page.GotoAsync(new Uri(chat.HttpAddress, "/?debug=scaling").ToString());
        await Expect(page.Locator("#debug")).ToBeVisibleAsync();
        await Expect(page.Locator("#debug-data")).ToContainTextAsync("chat-tokens");
    }

    [Fact]
    public async Task Uploads_a_voice_message_and_follows_it_to_its_result()
    {
        Assert.SkipUnless(File.Exists(Chromium), "Chromium is not installed here (apt-get install chromium); .ci/run installs it.");
        redis.RequireAvailable();
        await redis.FlushAsync();
        var ratelimit = Start<RateLimiterService>(redis);
        var cache = Start<CacheService>(redis);
        var audioQueue = Start<AudioQueueService>(redis);
        var chat = Track(ChatApiHost.Start(ratelimit.Addresses[0].ToString(), cache.Addresses[0].ToString(),
            new Dictionary<string, string?> { ["services:audioqueue:http:0"] = audioQueue.Addresses[0].ToString() }));
        var wav = TestSignals.Wav(TestSignals.Concat(
            TestSignals.Silence(0.3, 16_000), TestSignals.Tone(300, 0.6, 16_000), TestSignals.Silence(0.5, 16_000),
            TestSignals.Tone(300, 0.6, 16_000), TestSignals.Silence(0.3, 16_000)), 16_000);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(chat.HttpAddress.ToString());
        await page.SetInputFilesAsync("#voice-file", new FilePayload { Name = "note.wav", MimeType = "audio/wav", Buffer = wav });

        var card = page.Locator(".message.voice");
        await Expect(card).ToHaveAttributeAsync("data-status", "succeeded", new() { Timeout = 20_000 });
        await Expect(card).ToContainTextAsync("2 speech segments");
        await Expect(card.Locator("audio")).ToHaveCountAsync(1);
    }

    static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
}
