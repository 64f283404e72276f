using System.Text;
using System.Text.Json;

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

        async Task<bool> Ask(string question)
        {
            using var body = new StringContent(JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = question } } }), Encoding.UTF8, "application/json");
            using var response = await client.PostAsync("/v1/chat/completions", body);
            return response.IsSuccessStatusCode;
        }
        async Task<bool> Models(long _)
        {
            using var response = await client.GetAsync("/v1/models");
            return response.IsSuccessStatusCode;
        }
        var run = Guid.NewGuid().ToString("N");
        long asked = 0;
        Task<bool> Hit(long i) => Ask($"popular question {i % 10} {run}");
        Task<bool> Miss(long _) => Ask($"new question {Interlocked.Increment(ref asked)} {run}"); // never asked before

        for (var i = 0; i < 10; i++)
        {
            await Hit(i); // the popular questions are cached before measuring
        }
        await OpenLoop.RunAsync("warm-up", options.Rate, TimeSpan.FromSeconds(3), Miss);

        var results = new List<(OpenLoopResult Result, TimeSpan Upstream)>();
        for (var round = 0; round < options.Rounds; round++)
        {
            results.Add((await OpenLoop.RunAsync("GET /v1/models (HTTP baseline, no dependencies)", options.Rate, options.Duration, Models), TimeSpan.Zero));
            results.Add((await OpenLoop.RunAsync("chat, cache hit (no model call)", options.Rate, options.Duration, Hit), TimeSpan.Zero));
            results.Add((await OpenLoop.RunAsync($"chat, cache miss (model {ModelLatency.TotalMilliseconds:0} ms)", options.Rate, options.Duration, Miss), ModelLatency));
        }

        Console.WriteLine();
        Console.WriteLine($"Fixed rate {options.Rate:0} requests/s, {options.Rounds} rounds of {options.Duration.TotalSeconds:0} s per scenario (overhead = latency - model time; median round)");
        Console.WriteLine("| Scenario | requests | errors | overhead p50 ms | p90 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var group in results.GroupBy(r => r.Result.Name))
        {
            var rounds = group.OrderBy(r => r.Result.Percentile(0.99)).ToList();
            var (median, upstream) = rounds[rounds.Count / 2];
            double Overhead(double p) => median.Percentile(p) - upstream.TotalMilliseconds;
            Console.WriteLine($"| {median.Name} | {median.Requests} | {median.Errors} | {Overhead(0.50):0.00} | {Overhead(0.90):0.00} | {Overhead(0.99):0.00} | {Overhead(1.0):0.00} |");
        }
    }
}
