using System.Diagnostics.Metrics;
using System.Text;
using Platform.AudioQueue.Grpc;
using Platform.Cache.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests;

/// <summary>Every service's own metrics are named platform.&lt;service&gt;.*, with a unit and a description.</summary>
public sealed class ServiceMetricsTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task Each_service_publishes_platform_metrics_with_units_and_descriptions_and_chat_counts_its_answers()
    {
        var instruments = new List<Instrument>();
        long misses = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name.StartsWith("platform.", StringComparison.Ordinal))
                {
                    lock (instruments) instruments.Add(instrument);
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "platform.chat.completions" && tags.ToArray().Any(t => t is { Key: "outcome", Value: "miss" }))
            {
                Interlocked.Add(ref misses, value);
            }
        });
        listener.Start();

        var ratelimit = Start<RateLimiterService>(redis);
        var cache = Start<CacheService>(redis);
        var queue = Start<AudioQueueService>(redis, ("AudioQueue:Worker:Enabled", "false"));
        var chat = Track(ChatApiHost.Start(ratelimit.GrpcAddress.ToString(), cache.GrpcAddress.ToString(),
            new Dictionary<string, string?> { ["services:audioqueue:http:0"] = queue.GrpcAddress.ToString() }));
        using var http = new HttpClient { BaseAddress = chat.HttpAddress };
        var answer = await http.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"messages":[{"role":"user","content":"metrics {{Guid.NewGuid()}}"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        answer.EnsureSuccessStatusCode();

        List<Instrument> published;
        lock (instruments) published = [.. instruments.DistinctBy(i => (i.Meter.Name, i.Name))];
        Assert.Equal(["platform.audioqueue", "platform.cache", "platform.chat", "platform.ratelimit"], published.Select(i => i.Meter.Name).Distinct().Order());
        Assert.All(published, i =>
        {
            Assert.StartsWith(i.Meter.Name + ".", i.Name);
            Assert.False(string.IsNullOrWhiteSpace(i.Unit), $"{i.Name} has no unit");
            Assert.False(string.IsNullOrWhiteSpace(i.Description), $"{i.Name} has no description");
        });
        Assert.True(Interlocked.Read(ref misses) >= 1); // other tests in this process may count too
    }
}
