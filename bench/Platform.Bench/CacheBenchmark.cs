using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Platform.Cache.V1;
using Platform.Diagnostics.V1;

namespace Platform.Bench;

/// <summary>
/// Cache Get served from a replica's in-process copy (L1) and from Redis (L2), Lookup under contention,
/// against Diagnostics.Ping on the same server and the same script straight to Redis, in one run.
/// </summary>
public static class CacheBenchmark
{
    const int Keys = 1000;
    static readonly ByteString Value = ByteString.CopyFrom(new byte[1024]);

    public static async Task<IReadOnlyList<ScenarioResult>> RunAsync(BenchRedis redis, BenchOptions options)
    {
        await using var withL1 = await ServiceProcess.StartAsync("Cache", redis.Endpoint, new Dictionary<string, string> { ["Cache__L1Ttl"] = "01:00:00" });
        await using var withoutL1 = await ServiceProcess.StartAsync("Cache", redis.Endpoint, new Dictionary<string, string> { ["Cache__L1MaxBytes"] = "0" });
        using var l1Channel = withL1.Channel();
        using var l2Channel = withoutL1.Channel();
        var ping = new Diagnostics.V1.Diagnostics.DiagnosticsClient(l1Channel);
        var l1 = new Cache.V1.Cache.CacheClient(l1Channel);
        var l2 = new Cache.V1.Cache.CacheClient(l2Channel);

        for (var i = 0; i < Keys; i++)
        {
            await l2.SetAsync(new SetRequest { Namespace = "bench", Key = $"k{i}", Value = Value, Ttl = Duration.FromTimeSpan(TimeSpan.FromHours(1)) });
        }

        using var direct = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var script = File.ReadAllText(Path.Combine(ServiceProcess.RepositoryRoot, "services", "Cache", "Scripts", "get.lua"));
        var sha = await direct.GetServer(direct.GetEndPoints()[0]).ScriptLoadAsync(script);
        var db = direct.GetDatabase();

        Task Ping(long _) => ping.PingAsync(new PingRequest()).ResponseAsync;
        Task AsyncPing(long _) => ping.PingAsync(new PingRequest { Asynchronous = true }).ResponseAsync;
        Task Raw(long i) => db.ScriptEvaluateAsync(sha, [$"cache:{{bench:k{i % Keys}}}:v"]);
        Task L1Get(long i) => l1.GetAsync(new GetRequest { Namespace = "bench", Key = $"k{i % Keys}" }).ResponseAsync;
        Task L2Get(long i) => l2.GetAsync(new GetRequest { Namespace = "bench", Key = $"k{i % Keys}" }).ResponseAsync;
        var round = 0L;
        async Task Stampede(long _)
        {
            // 32 callers ask for one missing key at once on two replicas: one computes, 31 wait for its Fill.
            var key = $"stampede-{Interlocked.Increment(ref round)}-{Guid.NewGuid():N}";
            var lookups = Enumerable.Range(0, 32).Select(i => (i % 2 == 0 ? l1 : l2).LookupAsync(new LookupRequest { Namespace = "bench", Key = key }).ResponseAsync).ToList();
            var first = await await Task.WhenAny(lookups);
            await l1.FillAsync(new FillRequest { Namespace = "bench", Key = key, Token = first.Lease.Token, Value = Value, Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)) });
            await Task.WhenAll(lookups);
        }

        await ClosedLoop.RunAsync("warm-up", options.Concurrency, TimeSpan.FromSeconds(3), 1, L1Get);
        await ClosedLoop.RunAsync("warm-up", options.Concurrency, TimeSpan.FromSeconds(2), 1, L2Get);
        return await ClosedLoop.RunInterleavedAsync(
        [
            new("Diagnostics.Ping (no-op gRPC baseline)", options.Concurrency, 1, Ping, withL1),
            new("Diagnostics.Ping asynchronous (no-op that completes later, as a Redis call does)", options.Concurrency, 1, AsyncPing, withL1),
            new("Redis EVALSHA get.lua, 1 KiB (no service)", options.Concurrency, 1, Raw),
            new("Cache.Get hit from L1 (replica copy)", options.Concurrency, 1, L1Get, withL1),
            new("Cache.Get hit from L2 (Redis)", options.Concurrency, 1, L2Get, withoutL1),
            new("Cache.Lookup stampede (32 callers, 1 fill)", Math.Max(1, options.Concurrency / 16), 32, Stampede),
        ], options.Rounds, options.Duration);
    }
}
