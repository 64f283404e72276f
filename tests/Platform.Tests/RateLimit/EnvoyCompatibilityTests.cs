using Envoy.Service.RateLimit.V3;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;
using Code = Envoy.Service.RateLimit.V3.RateLimitResponse.Types.Code;
using EnvoyUnit = Envoy.Service.RateLimit.V3.RateLimitResponse.Types.RateLimit.Types.Unit;

namespace Platform.Tests.RateLimit;

public sealed class EnvoyCompatibilityTestsOnRedis(RedisServerFixture redis) : EnvoyCompatibilityTests(redis), IClassFixture<RedisServerFixture>;
public sealed class EnvoyCompatibilityTestsOnGarnet(GarnetFixture redis) : EnvoyCompatibilityTests(redis), IClassFixture<GarnetFixture>;
public sealed class EnvoyCompatibilityTestsOnRedisCluster(RedisClusterFixture redis) : EnvoyCompatibilityTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>A client built from Envoy's rls.proto, against an envoyproxy/ratelimit YAML configuration.</summary>
public abstract class EnvoyCompatibilityTests(RedisFixture redis) : HostedTest
{
    const string Config = """
        domain: edge
        descriptors:
          - key: remote_address
            rate_limit:
              unit: minute
              requests_per_unit: 2
          - key: path
            value: /upload
            rate_limit:
              name: uploads
              unit: hour
              requests_per_unit: 1
            descriptors:
              - key: user
                rate_limit: {unit: day, requests_per_unit: 3}
          - key: path
            value: /health
            unlimited: true
          - key: tier
            value: trial
            shadow_mode: true
            rate_limit: {unit: second, requests_per_unit: 1}
        """;

    RateLimitService.RateLimitServiceClient StartClient()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("envoy-config-").FullName, "edge.yaml");
        File.WriteAllText(file, Config);
        var host = Start<RateLimiterService>(redis, ("RateLimit:Envoy:ConfigPath", file));
        return new RateLimitService.RateLimitServiceClient(host.Channel());
    }

    static RateLimitRequest Request(params (string Key, string Value)[] entries) => new()
    {
        Domain = "edge",
        Descriptors = { new RateLimitDescriptor { Entries = { entries.Select(e => new RateLimitDescriptor.Types.Entry { Key = e.Key, Value = e.Value }) } } },
    };

    [Fact]
    public async Task Ok_until_the_configured_limit_then_over_limit_with_statuses_and_headers()
    {
        var client = StartClient();
        var address = Guid.NewGuid().ToString();

        var first = await client.ShouldRateLimitAsync(Request(("remote_address", address)));
        var second = await client.ShouldRateLimitAsync(Request(("remote_address", address)));
        var third = await client.ShouldRateLimitAsync(Request(("remote_address", address)));
        var otherAddress = await client.ShouldRateLimitAsync(Request(("remote_address", address + "-other")));

        Assert.Equal(Code.Ok, first.OverallCode);
        Assert.Equal(1u, first.Statuses[0].LimitRemaining);
        Assert.Equal(EnvoyUnit.Minute, first.Statuses[0].CurrentLimit.Unit);
        Assert.Equal(2u, first.Statuses[0].CurrentLimit.RequestsPerUnit);
        Assert.Equal(Code.Ok, second.OverallCode);
        Assert.Equal(Code.OverLimit, third.OverallCode);
        Assert.Equal(Code.OverLimit, third.Statuses[0].Code);
        Assert.Equal(0u, third.Statuses[0].LimitRemaining);
        Assert.InRange(third.Statuses[0].DurationUntilReset.ToTimeSpan(), TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1));
        Assert.Equal(Code.Ok, otherAddress.OverallCode);
        var headers = third.ResponseHeadersToAdd.ToDictionary(h => h.Key, h => h.Value);
        Assert.Equal("\"remote_address\";q=2;w=60", headers["RateLimit-Policy"]);
        Assert.StartsWith("\"remote_address\";r=0;t=", headers["RateLimit"]);
    }

    [Fact]
    public async Task Nested_descriptors_unlimited_unknown_and_shadow_entries_behave_like_envoy_ratelimit()
    {
        var client = StartClient();
        var user = Guid.NewGuid().ToString();

        var nested = await client.ShouldRateLimitAsync(Request(("path", "/upload"), ("user", user)));
        var named = await client.ShouldRateLimitAsync(Request(("path", "/upload")));
        var unlimited = await client.ShouldRateLimitAsync(Request(("path", "/health")));
        var unknown = await client.ShouldRateLimitAsync(Request(("nothing", "configured")));
        var otherDomain = await client.ShouldRateLimitAsync(new RateLimitRequest { Domain = "elsewhere", Descriptors = { Request(("path", "/upload")).Descriptors } });
        RateLimitResponse? shadow = null;
        for (var i = 0; i < 3; i++)
        {
            shadow = await client.ShouldRateLimitAsync(Request(("tier", "trial")));
        }

        Assert.Equal(EnvoyUnit.Day, nested.Statuses[0].CurrentLimit.Unit);
        Assert.Equal(2u, nested.Statuses[0].LimitRemaining);
        Assert.Equal("uploads", named.Statuses[0].CurrentLimit.Name);
        Assert.Equal(Code.Ok, unlimited.OverallCode);
        Assert.Null(unlimited.Statuses[0].CurrentLimit);
        Assert.Equal(Code.Ok, unknown.OverallCode);
        Assert.Equal(Code.Ok, otherDomain.OverallCode);
        Assert.Equal(Code.Ok, shadow!.OverallCode);
    }

    [Fact]
    public async Task Several_descriptors_in_one_request_are_each_decided_and_counted()
    {
        var client = StartClient();
        // Two counters with their own keys: on a Redis Cluster, in two hash slots (as a rule).
        var request = Request(("remote_address", Guid.NewGuid().ToString()));
        request.Descriptors.Add(Request(("path", "/upload"), ("user", Guid.NewGuid().ToString())).Descriptors);

        var first = await client.ShouldRateLimitAsync(request);
        var second = await client.ShouldRateLimitAsync(request);
        var third = await client.ShouldRateLimitAsync(request);

        Assert.Equal([1u, 2u], first.Statuses.Select(s => s.LimitRemaining));
        Assert.Equal(Code.Ok, second.OverallCode);
        Assert.Equal(Code.OverLimit, third.OverallCode);
        Assert.Equal([Code.OverLimit, Code.Ok], third.Statuses.Select(s => s.Code));
        Assert.Equal(0u, third.Statuses[1].LimitRemaining); // counted although another descriptor was over its limit
    }

    [Fact]
    public void An_invalid_configuration_stops_the_service_at_start_up_naming_the_problem()
    {
        redis.RequireAvailable();
        var file = Path.Combine(Directory.CreateTempSubdirectory("envoy-config-").FullName, "bad.yaml");
        File.WriteAllText(file, "domain: edge\ndescriptors:\n  - key: path\n    rate_limit: {unit: fortnight, requests_per_unit: 5}\n");

        var failure = Record.Exception(() => Start<RateLimiterService>(redis, ("RateLimit:Envoy:ConfigPath", file)));

        Assert.NotNull(failure);
        Assert.Contains("unit second|minute|hour|day|month|year", failure.ToString());
    }

    [Fact]
    public async Task Request_override_and_hits_addend_are_honoured()
    {
        var client = StartClient();
        var request = Request(("remote_address", Guid.NewGuid().ToString()));
        request.Descriptors[0].Limit = new RateLimitDescriptor.Types.RateLimitOverride { RequestsPerUnit = 10, Unit = EnvoyUnit.Hour };
        request.HitsAddend = 4;

        var first = await client.ShouldRateLimitAsync(request);
        var second = await client.ShouldRateLimitAsync(request);
        var third = await client.ShouldRateLimitAsync(request);

        Assert.Equal(10u, first.Statuses[0].CurrentLimit.RequestsPerUnit);
        Assert.Equal(6u, first.Statuses[0].LimitRemaining);
        Assert.Equal(Code.Ok, second.OverallCode);
        Assert.Equal(Code.OverLimit, third.OverallCode);
    }
}
