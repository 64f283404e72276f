using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Cache.Grpc;
using Platform.ServiceDefaults.Health;
using Platform.Tests.Support;

namespace Platform.Tests.Alerts;

/// <summary>Alert thresholds turn health Degraded with a reason, back to Healthy when they clear, and each transition is logged.</summary>
public sealed class AlertTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task A_deep_queue_degrades_audioqueue_health_with_the_reason_until_it_drains()
    {
        var host = Start<AudioQueueService>(redis, services => services.AddFakeLogging(),
            ("AudioQueue:Worker:Enabled", "false"), ("Alerts:QueueDepth", "2"), ("Alerts:EvaluationPeriod", "00:00:01"));
        await redis.FlushAsync();
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(host.Channel());
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await queue.EnqueueAsync(new EnqueueRequest { Audio = ByteString.CopyFrom("RIFF....WAVEfmt "u8.ToArray()), ContentType = "audio/wav" })).JobId);
        }
        using var http = host.JsonClient();

        Assert.True(await Eventually.TrueAsync(async () => HealthBody.Check(await http.GetStringAsync("/health"), "queue-backlog").Status == "Degraded"));
        var (_, reason) = HealthBody.Check(await http.GetStringAsync("/health"), "queue-backlog");
        Assert.Contains("3 jobs waiting (threshold Alerts:QueueDepth = 2)", reason);

        foreach (var id in ids)
        {
            await queue.CancelAsync(new CancelRequest { JobId = id });
        }
        Assert.True(await Eventually.TrueAsync(async () => HealthBody.Check(await http.GetStringAsync("/health"), "queue-backlog").Status == "Healthy"));

        var logs = host.Services.GetFakeLogCollector();
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(
            logs.GetSnapshot().Count(r => r.Id.Name == "HealthTransition" && r.Message.Contains("queue-backlog")) >= 2)));
        var transitions = logs.GetSnapshot().Where(r => r.Id.Name == "HealthTransition" && r.Message.Contains("queue-backlog")).ToList();
        Assert.All(transitions, r => Assert.Equal(LogLevel.Warning, r.Level));
        Assert.Contains("from Healthy to Degraded", transitions[0].Message);
        Assert.Contains("from Degraded to Healthy", transitions[^1].Message);
    }

    [Fact]
    public async Task Slow_redis_degrades_health_by_the_configured_latency()
    {
        using var strict = Start<CacheService>(redis, ("Alerts:RedisLatency", "00:00:00")).JsonClient();
        using var relaxed = Start<CacheService>(redis, ("Alerts:RedisLatency", "00:00:10")).JsonClient();

        var (status, reason) = HealthBody.Check(await strict.GetStringAsync("/health", TestContext.Current.CancellationToken), "redis");
        Assert.Equal("Degraded", status);
        Assert.Contains("Alerts:RedisLatency = 0 ms", reason);
        Assert.Equal("Healthy", HealthBody.Status(await relaxed.GetStringAsync("/health", TestContext.Current.CancellationToken)));
    }

    [Fact]
    public async Task The_error_rate_counts_server_errors_over_the_window_once_there_are_enough_requests()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z"));
        var options = new OptionsMonitorStub(new AlertOptions { Window = TimeSpan.FromMinutes(1), ErrorRate = 0.05, ErrorRateMinRequests = 20 });
        var outcomes = new RequestOutcomes(time, options);
        var check = new ErrorRateHealthCheck(outcomes, options);
        void Serve(int status, string? grpcStatus = null)
        {
            var http = new DefaultHttpContext();
            http.Response.StatusCode = status;
            if (grpcStatus is not null)
            {
                http.Response.Headers["grpc-status"] = grpcStatus;
            }
            outcomes.Record(http);
        }

        Serve(500);
        Serve(200, "14");
        Assert.Equal(HealthStatus.Healthy, (await Check()).Status); // 2 of 2, but too few requests to judge

        for (var i = 0; i < 27; i++)
        {
            Serve(200, i % 2 == 0 ? "0" : "5"); // OK and NOT_FOUND are not server errors
        }
        Serve(200, "13");
        var degraded = await Check();
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.StartsWith("3 of 30 requests failed", degraded.Description);

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(HealthStatus.Healthy, (await Check()).Status);

        Task<HealthCheckResult> Check() => check.CheckHealthAsync(new HealthCheckContext());
    }

    sealed class OptionsMonitorStub(AlertOptions value) : IOptionsMonitor<AlertOptions>
    {
        public AlertOptions CurrentValue => value;
        public AlertOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<AlertOptions, string?> listener) => null;
    }
}
