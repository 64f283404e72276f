using Grpc.Core;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.Tests.Support;

namespace Platform.Tests.RateLimit;

public sealed class RateLimiterServiceTestsOnRedis(RedisServerFixture redis) : RateLimiterServiceTests(redis), IClassFixture<RedisServerFixture>;
public sealed class RateLimiterServiceTestsOnGarnet(GarnetFixture redis) : RateLimiterServiceTests(redis), IClassFixture<GarnetFixture>;

public abstract class RateLimiterServiceTests(RedisFixture redis) : HostedTest
{
    static readonly (string, string?)[] Policies =
    [
        ("RateLimit:Policies:five:Limit", "5"),
        ("RateLimit:Policies:five:Window", "01:00:00"),
        ("RateLimit:Policies:shared:Limit", "100"),
        ("RateLimit:Policies:shared:Window", "01:00:00"),
    ];

    RateLimiter.RateLimiterClient StartClient() =>
        new(Start<RateLimiterService>(redis, Policies).Channel());

    [Fact]
    public async Task Allows_up_to_the_limit_then_denies_with_retry_after()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        var allowed = new List<CheckResponse>();
        for (var i = 0; i < 5; i++)
        {
            allowed.Add(await client.CheckAsync(new CheckRequest { Policy = "five", Key = key }));
        }
        var denied = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key });

        Assert.All(allowed, r => Assert.True(r.Allowed));
        Assert.Equal([4u, 3u, 2u, 1u, 0u], allowed.Select(r => r.Remaining));
        Assert.False(denied.Allowed);
        Assert.Equal(0u, denied.Remaining);
        Assert.Equal(5u, denied.Limit);
        Assert.Equal("five", denied.Policy);
        Assert.InRange(denied.RetryAfter.ToTimeSpan(), TimeSpan.FromTicks(1), TimeSpan.FromHours(1));
        Assert.Equal(denied.ResetAfter, denied.RetryAfter);
    }

    [Fact]
    public async Task Keys_are_limited_independently()
    {
        var client = StartClient();
        var (first, second) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());

        for (var i = 0; i < 5; i++)
        {
            await client.CheckAsync(new CheckRequest { Policy = "five", Key = first });
        }

        Assert.False((await client.CheckAsync(new CheckRequest { Policy = "five", Key = first })).Allowed);
        Assert.True((await client.CheckAsync(new CheckRequest { Policy = "five", Key = second })).Allowed);
    }

    [Fact]
    public async Task Cost_zero_checks_without_consuming_and_cost_counts_units()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        var peek = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 0 });
        var four = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 4 });
        var tooMany = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 2 });
        var last = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key });
        var peekWhenFull = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 0 });

        Assert.True(peek.Allowed);
        Assert.Equal(5u, peek.Remaining);
        Assert.True(four.Allowed);
        Assert.Equal(1u, four.Remaining);
        Assert.False(tooMany.Allowed);
        Assert.True(last.Allowed);
        Assert.False(peekWhenFull.Allowed);
    }

    [Fact]
    public async Task Two_replicas_share_one_exact_limit()
    {
        var client = StartClient();
        var clients = new[] { client, StartClient() };
        var key = Guid.NewGuid().ToString();

        var decisions = await Task.WhenAll(Enumerable.Range(0, 400).Select(i =>
            clients[i % 2].CheckAsync(new CheckRequest { Policy = "shared", Key = key }).ResponseAsync));

        Assert.Equal(100, decisions.Count(d => d.Allowed));
    }

    [Fact]
    public async Task Bad_fields_are_rejected_with_every_violation_named()
    {
        var client = StartClient();

        var (code, details) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "no spaces!", Key = "" }).ResponseAsync);
        var (costCode, costDetails) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "five", Key = "k", Cost = 6 }).ResponseAsync);
        var (longCode, longDetails) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "five", Key = new string('k', RateLimiterService.MaxKeyBytes + 1) }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, code);
        Assert.Equal(["policy", "key"], details.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, costCode);
        Assert.Equal(["cost"], costDetails.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, longCode);
        Assert.Equal(["key"], longDetails.ViolatedFields());
    }

    [Fact]
    public async Task Unknown_policy_is_not_found()
    {
        var client = StartClient();

        var (code, _) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "nope", Key = "k" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, code);
    }
}
