using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Health.V1;
using Platform.Cache.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests.Faults;

/// <summary>
/// Redis dies (SIGKILL for redis-server) under RateLimit, Cache and a ChatApi serving a steady load of users, then
/// comes back on the same address. Chat keeps answering through the outage, degraded (rate limits fail open as the
/// policy says, answers bypass the cache), and the platform recovers by itself. RedisOutageTests covers a service
/// that starts while Redis is missing; this is the outage in the middle of traffic.
/// </summary>
public sealed class RedisOutageUnderLoadTests : HostedTest
{
    const int Users = 500;
    const int Probes = 200;

    /// <param name="Remaining">X-RateLimit-Remaining; absent when RateLimit could not count (fail open).</param>
    sealed record Answer(int Phase, HttpStatusCode Status, string? Cache, string? Remaining);

    [Theory]
    [InlineData("redis-server")]
    [InlineData("garnet")]
    public async Task Chat_answers_through_a_redis_outage_degraded_and_recovers_cache_and_limits_when_redis_returns(string engine)
    {
        using var redis = RestartableRedis.Create(engine, appendOnly: false);
        await redis.StartAsync();
        var rateLimit = Track(ServiceHost.Start<RateLimiterService>(redis.Endpoint, null,
            ("RateLimit:Policies:chat:Algorithm", "FixedWindow"), ("RateLimit:Policies:chat:Limit", "3"),
            ("RateLimit:Policies:chat:Window", "01:00:00"), ("RateLimit:Policies:chat:FailureMode", "Open")));
        var cache = Track(ServiceHost.Start<CacheService>(redis.Endpoint, null));
        // Each user and each probe has its own key: three requests an hour each.
        var keys = string.Join(';', Enumerable.Range(0, Users).Select(i => $"u{i}=user-key-{i}").Concat(Enumerable.Range(0, Probes).Select(i => $"p{i}=probe-key-{i}")));
        // AudioQueue only so that ChatApi's health can say Healthy (it counts every dependency).
        var queue = Track(ServiceHost.Start<Platform.AudioQueue.Grpc.AudioQueueService>(redis.Endpoint, null, ("AudioQueue:Worker:Enabled", "false")));
        var chat = Track(ChatApiHost.Start(rateLimit.GrpcAddress.ToString(), cache.GrpcAddress.ToString(), new Dictionary<string, string?>
        {
            ["Chat:ApiKeys"] = keys,
            ["services:audioqueue:http:0"] = queue.GrpcAddress.ToString(),
        }));
        using var http = new HttpClient { BaseAddress = chat.HttpAddress };
        var probe = 0;

        // Before: a fresh question is a MISS, then a HIT; the fourth request of a key in the hour is 429.
        var before = await AskAsync(http, $"probe-key-{probe++}", "before the outage", times: 4);
        Assert.Equal(["MISS", "HIT", "HIT", null], before.Select(a => a.Cache));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], before.Select(a => a.Status));

        // The load: eight users' loops, popular and fresh questions, until the test says stop.
        var phase = 0;
        var answers = new ConcurrentQueue<Answer>();
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var load = Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sent);
                var question = n % 3 == 0 ? $"fresh question {n}" : $"popular question {n % 20}";
                var current = Volatile.Read(ref phase);
                var answer = (await AskAsync(http, $"user-key-{n % Users}", question, times: 1)).Single();
                answers.Enqueue(answer with { Phase = current });
                await Task.Delay(50, CancellationToken.None);
            }
        })));
        async Task<bool> AnsweredAsync(int inPhase, int count) =>
            await Eventually.TrueAsync(() => Task.FromResult(answers.Count(a => a.Phase == inPhase) >= count || load.IsCompleted));

        Assert.True(await AnsweredAsync(0, 40));
        await redis.StopAsync(crash: true);
        Volatile.Write(ref phase, 1);
        Assert.True(await AnsweredAsync(1, 100), "the load got too few answers while Redis was down");
        await redis.StartAsync();
        Volatile.Write(ref phase, 2);

        // After: without restarting anything, a fresh question is a MISS then a HIT again (the fill reached Redis)
        // and limits are counted in Redis again (remaining 2 after the first request of a key).
        List<Answer> recovered = [];
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            recovered = await AskAsync(http, $"probe-key-{probe++}", $"after the outage {Guid.NewGuid()}", times: 2);
            return recovered is [{ Cache: "MISS", Remaining: "2" }, { Cache: "HIT", Remaining: "1" }];
        }), string.Join(", ", recovered));
        var enforced = await AskAsync(http, $"probe-key-{probe - 1}", "one more", times: 2);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], enforced.Select(a => a.Status));
        // Its dependencies are back; ChatApi stays Degraded only through the alert window of its degraded decisions.
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            var health = await http.GetStringAsync("/health");
            return HealthBody.Check(health, "ratelimit").Status == "Healthy" && HealthBody.Check(health, "cache").Status == "Healthy";
        }), "ChatApi's dependencies did not return to Healthy");
        Assert.Equal("Degraded", HealthBody.Check(await http.GetStringAsync("/health"), "degraded-decisions").Status);
        foreach (var service in new[] { rateLimit.Channel(), cache.Channel() })
        {
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(service).CheckAsync(new HealthCheckRequest())).Status);
        }
        Assert.True(await AnsweredAsync(2, 40));
        await stop.CancelAsync();
        await load;

        // Through it all: answers or rate-limit denials, never a server error.
        Assert.DoesNotContain(answers, a => a.Status is not (HttpStatusCode.OK or HttpStatusCode.TooManyRequests));
        var outage = answers.Where(a => a.Phase == 1 && a.Status == HttpStatusCode.OK).ToList();
        // Degraded while Redis was down: some answers bypassed the cache, and some were let through without a limit
        // count (fail open: no rate-limit headers).
        Assert.Contains(outage, a => a.Cache == "BYPASS");
        Assert.Contains(outage, a => a.Remaining is null);
    }

    /// <summary>Sends the same question <paramref name="times"/> times with one key.</summary>
    static async Task<List<Answer>> AskAsync(HttpClient http, string key, string question, int times)
    {
        var answers = new List<Answer>();
        for (var i = 0; i < times; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Headers = { Authorization = new("Bearer", key) },
                Content = new StringContent(JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = question } } }), Encoding.UTF8, "application/json"),
            };
            using var response = await http.SendAsync(request);
            answers.Add(new Answer(-1, response.StatusCode,
                response.Headers.TryGetValues("X-Cache", out var cache) ? cache.Single() : null,
                response.Headers.TryGetValues("X-RateLimit-Remaining", out var remaining) ? remaining.Single() : null));
        }
        return answers;
    }
}
