using Grpc.Net.Client;
using Platform.Diagnostics.V1;
using Platform.RateLimit.V1;

namespace Platform.Bench;

/// <summary>
/// RateLimit Check and CheckMany(10) against a no-op RPC (Diagnostics.Ping) on the same server process,
/// same channel, same run: the ratios hold even when the machine's absolute speed drifts.
/// </summary>
public static class RateLimitBenchmark
{
    const int Keys = 1000;

    public static async Task<IReadOnlyList<ScenarioResult>> RunAsync(BenchRedis redis, BenchOptions options)
    {
        await using var service = await ServiceProcess.StartAsync("RateLimit", redis.Endpoint, new Dictionary<string, string>
        {
            // Limits high enough that every decision runs the full script and is allowed.
            ["RateLimit__Policies__bench__Algorithm"] = "TokenBucket",
            ["RateLimit__Policies__bench__Limit"] = "1000000000",
            ["RateLimit__Policies__bench__Window"] = "01:00:00",
        });
        using var channel = service.Channel();
        var ping = new Diagnostics.V1.Diagnostics.DiagnosticsClient(channel);
        var limiter = new RateLimiter.RateLimiterClient(channel);

        Task Ping(long _) => ping.PingAsync(new PingRequest()).ResponseAsync;
        Task AsyncPing(long _) => ping.PingAsync(new PingRequest { Asynchronous = true }).ResponseAsync;
        Task Check(long i) => limiter.CheckAsync(new CheckRequest { Policy = "bench", Key = $"user-{i % Keys}" }).ResponseAsync;
        Task CheckMany(long i) => limiter.CheckManyAsync(new CheckManyRequest
        {
            Checks = { Enumerable.Range(0, 10).Select(j => new CheckRequest { Policy = "bench", Key = $"user-{(i + j) % Keys}" }) },
        }).ResponseAsync;

        // The same script straight from this process to Redis: what one decision costs without the service.
        using var direct = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var script = File.ReadAllText(Path.Combine(ServiceProcess.RepositoryRoot, "services", "RateLimit", "Scripts", "decide.lua"));
        var sha = await direct.GetServer(direct.GetEndPoints()[0]).ScriptLoadAsync(script);
        var db = direct.GetDatabase();
        Task Raw(long i) => db.ScriptEvaluateAsync(sha,
            [$"rl:{{raw-{i % Keys}}}:bench:tb"], ["", 0, 3, 1_000_000_000, 3_600_000_000L, 1_000_000_000, 1, 0]);

        await ClosedLoop.RunAsync("warm-up", options.Concurrency, TimeSpan.FromSeconds(3), 1, Check);
        return await ClosedLoop.RunInterleavedAsync(
        [
            new("Diagnostics.Ping (no-op gRPC baseline)", options.Concurrency, 1, Ping, service),
            new("Diagnostics.Ping asynchronous (no-op that completes later, as a Redis call does)", options.Concurrency, 1, AsyncPing, service),
            new("Redis EVALSHA decide.lua (no service)", options.Concurrency, 1, Raw),
            new("RateLimiter.Check", options.Concurrency, 1, Check, service),
            new("RateLimiter.CheckMany (10 checks)", options.Concurrency, 10, CheckMany, service),
        ], options.Rounds, options.Duration);
    }
}
