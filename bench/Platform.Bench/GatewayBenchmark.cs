using System.Text;
using System.Text.Json;
using Platform.LoadTest;

namespace Platform.Bench;

/// <summary>
/// ChatApi's overhead at a fixed request rate: response time minus the model's time, for answers from
/// the cache (no model call) and answers from the simulated model (a fixed latency), against GET
/// /v1/models on the same server (HTTP, no dependencies) in the same run. RateLimit, Cache and ChatApi
/// run as separate processes, as deployed.
/// </summary>
public static class GatewayBenchmark
{
    static readonly TimeSpan ModelLatency = TimeSpan.FromMilliseconds(50);

    public static async Task RunAsync(BenchRedis redis, BenchOptions options)
    {
        await using var ratelimit = await ServiceProcess.StartAsync("RateLimit", redis.Endpoint, new Dictionary<string, string>
        {
            ["RateLimit__Policies__chat__Limit"] = "1000000000",
            ["RateLimit__Policies__chat-tokens__Limit"] = "1000000000",
            ["RateLimit__Policies__chat-tokens__Burst"] = "1000000000",
        });
        await using var cache = await ServiceProcess.StartAsync("Cache", redis.Endpoint, new Dictionary<string, string>());
        var http = new Uri($"http://127.0.0.1:{BenchRedis.FreePort()}");
        var grpc = new Uri($"http://127.0.0.1:{BenchRedis.FreePort()}");
        await using var chat = await ServiceProcess.StartAsync("ChatApi", redis.Endpoint, new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__http__Url"] = http.ToString(),
            ["Kestrel__Endpoints__grpc__Url"] = grpc.ToString(),
            ["services__ratelimit__http__0"] = ratelimit.Address.ToString(),
            ["services__cache__http__0"] = cache.Address.ToString(),
            ["Chat__Simulated__Latency"] = ModelLatency.ToString(),
        }, grpc);
        using var client = new HttpClient { BaseAddress = http };

        async Task<Sample> Ask(string question)
        {
            using var body = new StringContent(JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = question } } }), Encoding.UTF8, "application/json");
            using var response = await client.PostAsync("/v1/chat/completions", body);
            return response.IsSuccessStatusCode ? Sample.Ok : Sample.Failed($"HTTP {(int)response.StatusCode}");
        }
        async Task<Sample> Models(long _, CancellationToken __)
        {
            using var response = await client.GetAsync("/v1/models");
            return response.IsSuccessStatusCode ? Sample.Ok : Sample.Failed($"HTTP {(int)response.StatusCode}");
        }
        var run = Guid.NewGuid().ToString("N");
        long asked = 0;
        Task<Sample> Hit(long i, CancellationToken _) => Ask($"popular question {i % 10} {run}");
        Task<Sample> Miss(long _, CancellationToken __) => Ask($"new question {Interlocked.Increment(ref asked)} {run}"); // never asked before
        // The same fixed-rate driver as tools/LoadTest: requests timed from when they were due.
        async Task<LoadMetrics> AtFixedRate(Operation operation, TimeSpan duration)
        {
            var metrics = new LoadMetrics();
            await Drivers.FixedRateAsync(options.Rate, duration, operation, metrics, TimeProvider.System, CancellationToken.None);
            return metrics;
        }

        for (var i = 0; i < 10; i++)
        {
            await Hit(i, default); // the popular questions are cached before measuring
        }
        await AtFixedRate(Miss, TimeSpan.FromSeconds(3)); // warm-up

        (string Name, Operation Call, TimeSpan Upstream)[] scenarios =
        [
            ("GET /v1/models (HTTP baseline, no dependencies)", Models, TimeSpan.Zero),
            ("chat, cache hit (no model call)", Hit, TimeSpan.Zero),
            ($"chat, cache miss (model {ModelLatency.TotalMilliseconds:0} ms)", Miss, ModelLatency),
        ];
        var results = scenarios.Select(_ => new List<LoadMetrics>()).ToArray();
        for (var round = 0; round < options.Rounds; round++)
        {
            for (var i = 0; i < scenarios.Length; i++)
            {
                results[i].Add(await AtFixedRate(scenarios[i].Call, options.Duration));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Fixed rate {options.Rate:0} requests/s, {options.Rounds} rounds of {options.Duration.TotalSeconds:0} s per scenario (overhead = latency - model time; median round)");
        Console.WriteLine("| Scenario | requests | errors | overhead p50 ms | p90 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < scenarios.Length; i++)
        {
            var median = results[i].OrderBy(m => m.Latency.GetValueAtPercentile(99)).ElementAt(results[i].Count / 2);
            var latency = Percentiles.Of(median.Latency)!;
            var upstream = scenarios[i].Upstream.TotalMilliseconds;
            Console.WriteLine($"| {scenarios[i].Name} | {median.Requests} | {median.Errors} | {latency.P50 - upstream:0.00} | {latency.P90 - upstream:0.00} | {latency.P99 - upstream:0.00} | {latency.Max - upstream:0.00} |");
        }
    }
}
