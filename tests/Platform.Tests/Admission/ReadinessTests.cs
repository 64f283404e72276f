using System.Diagnostics;
using System.Net;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.ServiceDefaults;
using Platform.Tests.Support;

namespace Platform.Tests.Admission;

/// <summary>Ready means fast: a replica warms its hot paths through its own endpoint before /health says ready; and its Redis spans stay inside sampled requests.</summary>
public sealed class ReadinessTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    [Fact]
    public async Task A_replica_reports_warming_up_until_its_hot_paths_have_run_through_its_own_endpoint()
    {
        var host = Start<RateLimiterService>(redis, ("WarmUp:Enabled", "true"), ("WarmUp:MaxDuration", "00:00:30"));
        using var probe = new HttpClient { BaseAddress = host.Http1Address };

        using var first = await probe.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Contains("warming up", await first.Content.ReadAsStringAsync());

        Assert.True(await Eventually.TrueAsync(async () => (await probe.GetAsync("/health")).StatusCode == HttpStatusCode.OK));
        // The warm-up's checks went the whole way (gRPC, auth, Redis), under its own team, apart from every real caller's keys.
        var keys = new List<string>();
        await foreach (var key in redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]).KeysAsync(pattern: $"rl:{{{WarmUpCredential.Team}/warm-up-*"))
        {
            keys.Add(key!);
        }
        Assert.NotEmpty(keys);
    }

    [Fact]
    public async Task Redis_script_spans_are_recorded_inside_sampled_requests_only()
    {
        var host = Start<RateLimiterService>(redis, ("RateLimit:Policies:traced:Limit", "1000"));
        var limiter = new RateLimiter.RateLimiterClient(host.Channel());
        var scripts = new System.Collections.Concurrent.ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PlatformTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None, // never changes what the service samples
            ActivityStopped = activity =>
            {
                if (activity.DisplayName == "EVALSHA decide.lua")
                {
                    scripts.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        var sampled = ActivityTraceId.CreateRandom();
        var unsampled = ActivityTraceId.CreateRandom();
        await CheckWithinAsync(sampled, ActivityTraceFlags.Recorded);
        await CheckWithinAsync(unsampled, ActivityTraceFlags.None);

        var span = Assert.Single(scripts, a => a.TraceId == sampled);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("redis", span.GetTagItem("db.system.name"));
        Assert.DoesNotContain(scripts, a => a.TraceId == unsampled);

        // The check as part of a caller's trace: the client propagates it (traceparent) with its sampled flag.
        async Task CheckWithinAsync(ActivityTraceId trace, ActivityTraceFlags flags)
        {
            using var caller = new Activity("caller").SetParentId(trace, ActivitySpanId.CreateRandom(), flags).Start();
            await limiter.CheckAsync(new CheckRequest { Policy = "traced", Key = "k" });
        }
    }
}
