using Grpc.Core;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.Tests.Support;

namespace Platform.Tests.RateLimit;

public sealed class RateLimiterServiceTestsOnRedis(RedisServerFixture redis) : RateLimiterServiceTests(redis), IClassFixture<RedisServerFixture>;
public sealed class RateLimiterServiceTestsOnGarnet(GarnetFixture redis) : RateLimiterServiceTests(redis), IClassFixture<GarnetFixture>;
public sealed class RateLimiterServiceTestsOnRedisCluster(RedisClusterFixture redis) : RateLimiterServiceTests(redis), IClassFixture<RedisClusterFixture>;

public abstract class RateLimiterServiceTests(RedisFixture redis) : HostedTest
{
    static readonly (string, string?)[] Policies =
    [
        ("RateLimit:Policies:five:Limit", "5"),
        ("RateLimit:Policies:five:Window", "01:00:00"),
        ("RateLimit:Policies:shared:Limit", "1000"),
        ("RateLimit:Policies:shared:Window", "01:00:00"),
        ("RateLimit:Policies:bucket:Algorithm", "TokenBucket"),
        ("RateLimit:Policies:bucket:Limit", "60"),
        ("RateLimit:Policies:bucket:Window", "01:00:00"),
        ("RateLimit:Policies:bucket:Burst", "2"),
        ("RateLimit:Policies:shadow:Limit", "1"),
        ("RateLimit:Policies:shadow:Window", "01:00:00"),
        ("RateLimit:Policies:shadow:Shadow", "true"),
        ("RateLimit:Policies:uploads:Algorithm", "Concurrency"),
        ("RateLimit:Policies:uploads:Limit", "2"),
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
    public async Task Three_replicas_share_one_exact_limit_under_5000_concurrent_checks()
    {
        var clients = new[] { StartClient(), StartClient(), StartClient() };
        var key = Guid.NewGuid().ToString();

        var decisions = await Task.WhenAll(Enumerable.Range(0, 5000).Select(i =>
            clients[i % 3].CheckAsync(new CheckRequest { Policy = "shared", Key = key }).ResponseAsync));

        Assert.Equal(1000, decisions.Count(d => d.Allowed));
        Assert.All(decisions.Where(d => !d.Allowed), d => Assert.True(d.OverLimit && d.RetryAfter.ToTimeSpan() > TimeSpan.Zero));
    }

    [Fact]
    public async Task Check_many_decides_burst_and_sustained_limits_together()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();
        var both = new CheckManyRequest
        {
            AllOrNothing = true,
            Checks = { new CheckRequest { Policy = "bucket", Key = key }, new CheckRequest { Policy = "five", Key = key } },
        };

        var first = await client.CheckManyAsync(both);
        var second = await client.CheckManyAsync(both);
        var third = await client.CheckManyAsync(both);
        var five = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 0 });

        Assert.True(first.Allowed);
        Assert.True(second.Allowed);
        Assert.False(third.Allowed); // the bucket's burst of 2 is spent...
        Assert.False(third.Results[0].Allowed);
        Assert.True(third.Results[1].Allowed);
        Assert.Equal(3u, five.Remaining); // ...so the sustained limit was not charged for the third
    }

    /// <summary>
    /// Two fresh keys whose counters live in different hash slots on a Redis Cluster (on one server there
    /// are no slots: any two keys), so CheckMany over them cannot be one script there.
    /// </summary>
    (string, string) KeysInTwoSlots()
    {
        int Slot(string key) => redis.Connection.HashSlot(Platform.RateLimit.RedisRateLimiter.StateKey("five", "tests/" + key, Platform.RateLimit.RateLimitAlgorithm.FixedWindow));
        var first = Guid.NewGuid().ToString();
        var second = Guid.NewGuid().ToString();
        while (redis is RedisClusterFixture && Slot(first) == Slot(second))
        {
            second = Guid.NewGuid().ToString();
        }
        return (first, second);
    }

    [Fact]
    public async Task Check_many_over_several_keys_decides_each_key()
    {
        var client = StartClient();
        var (first, second) = KeysInTwoSlots();
        var both = new CheckManyRequest
        {
            Checks = { new CheckRequest { Policy = "five", Key = first, Cost = 4 }, new CheckRequest { Policy = "five", Key = second, Cost = 2 } },
        };

        var once = await client.CheckManyAsync(both);
        var twice = await client.CheckManyAsync(both);

        Assert.True(once.Allowed);
        Assert.Equal([1u, 3u], once.Results.Select(r => r.Remaining));
        Assert.False(twice.Allowed);
        Assert.False(twice.Results[0].Allowed); // 4 more do not fit in the 1 left...
        Assert.True(twice.Results[1].Allowed); // ...while the other key's 2 do, and are consumed
        Assert.Equal(1u, twice.Results[1].Remaining);
    }

    [Fact]
    public async Task All_or_nothing_over_several_keys_is_atomic_on_one_server_and_refused_naming_the_key_on_a_cluster()
    {
        var client = StartClient();
        var (first, second) = KeysInTwoSlots();
        var both = new CheckManyRequest
        {
            AllOrNothing = true,
            Checks = { new CheckRequest { Policy = "five", Key = first, Cost = 4 }, new CheckRequest { Policy = "five", Key = second, Cost = 2 } },
        };

        if (redis is RedisClusterFixture)
        {
            var (code, details) = await Rpc.FailureOf(() => client.CheckManyAsync(both).ResponseAsync);
            var peek = await client.CheckAsync(new CheckRequest { Policy = "five", Key = first, Cost = 0 });

            Rpc.AssertInvalid(code, details, "checks[1].key");
            Assert.Contains("Redis Cluster", details!.GetDetail<Google.Rpc.BadRequest>().FieldViolations[0].Description);
            Assert.Equal(5u, peek.Remaining); // nothing consumed
            return;
        }
        var once = await client.CheckManyAsync(both);
        var twice = await client.CheckManyAsync(both);
        var secondLeft = await client.CheckAsync(new CheckRequest { Policy = "five", Key = second, Cost = 0 });

        Assert.True(once.Allowed);
        Assert.False(twice.Allowed);
        Assert.Equal(3u, secondLeft.Remaining); // the second key's 2 were not charged the second time
    }

    [Fact]
    public async Task Shadow_policy_never_denies_but_reports_over_limit()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        var first = await client.CheckAsync(new CheckRequest { Policy = "shadow", Key = key });
        var second = await client.CheckAsync(new CheckRequest { Policy = "shadow", Key = key });

        Assert.True(first.Allowed);
        Assert.False(first.OverLimit);
        Assert.True(second.Allowed);
        Assert.True(second.OverLimit);
    }

    [Fact]
    public async Task Leases_limit_concurrency_and_release_frees_capacity()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();
        var acquire = new AcquireRequest { Policy = "uploads", Key = key, LeaseTtl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)) };

        var first = await client.AcquireAsync(acquire);
        var second = await client.AcquireAsync(acquire);
        var third = await client.AcquireAsync(acquire);
        var release = await client.ReleaseAsync(new ReleaseRequest { Policy = "uploads", Key = key, LeaseId = first.LeaseId });
        var fourth = await client.AcquireAsync(acquire);

        Assert.True(first.Allowed && second.Allowed);
        Assert.NotEqual(first.LeaseId, second.LeaseId);
        Assert.False(third.Allowed);
        Assert.Empty(third.LeaseId);
        Assert.InRange(third.RetryAfter.ToTimeSpan(), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.True(release.Released);
        Assert.True(fourth.Allowed);
    }

    [Fact]
    public async Task List_policies_shows_the_configuration_and_reset_forgets_a_key()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        var policies = (await client.ListPoliciesAsync(new ListPoliciesRequest())).Policies.ToDictionary(p => p.Name);
        for (var i = 0; i < 5; i++)
        {
            await client.CheckAsync(new CheckRequest { Policy = "five", Key = key });
        }
        var denied = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key });
        await client.ResetAsync(new ResetRequest { Policy = "five", Key = key });
        var afterReset = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key });

        Assert.Equal(Algorithm.TokenBucket, policies["bucket"].Algorithm);
        Assert.Equal(60u, policies["bucket"].Limit);
        Assert.Equal(2u, policies["bucket"].Burst);
        Assert.Equal(TimeSpan.FromHours(1), policies["bucket"].Window.ToTimeSpan());
        Assert.True(policies["shadow"].Shadow);
        Assert.Equal(Algorithm.Concurrency, policies["uploads"].Algorithm);
        Assert.Contains("chat", policies.Keys); // shipped defaults are there too
        Assert.False(denied.Allowed);
        Assert.True(afterReset.Allowed);
        Assert.Equal(4u, afterReset.Remaining);
    }

    [Fact]
    public async Task Editing_a_policy_in_configuration_applies_without_a_restart()
    {
        redis.RequireAvailable();
        var file = Path.Combine(Directory.CreateTempSubdirectory("ratelimit-config-").FullName, "policies.json");
        static string Policy(int limit) => "{\"RateLimit\":{\"Policies\":{\"hot\":{\"Limit\":" + limit + ",\"Window\":\"01:00:00\"}}}}";
        File.WriteAllText(file, Policy(1));
        var host = Track(new ServiceHost<RateLimiterService>(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = redis.Endpoint }, file));
        var client = new RateLimiter.RateLimiterClient(host.Channel());
        var key = Guid.NewGuid().ToString();

        var first = await client.CheckAsync(new CheckRequest { Policy = "hot", Key = key });
        var second = await client.CheckAsync(new CheckRequest { Policy = "hot", Key = key });
        File.WriteAllText(file, Policy(3));
        var reloaded = await Eventually.TrueAsync(async () =>
            (await client.ListPoliciesAsync(new ListPoliciesRequest())).Policies.Single(p => p.Name == "hot").Limit == 3);
        var afterEdit = await client.CheckAsync(new CheckRequest { Policy = "hot", Key = key });

        Assert.True(first.Allowed);
        Assert.False(second.Allowed);
        Assert.True(reloaded, "the edited policy never showed in ListPolicies");
        Assert.True(afterEdit.Allowed);
        Assert.Equal(3u, afterEdit.Limit);
    }

    [Fact]
    public async Task A_key_known_to_be_over_its_limit_is_answered_without_redis_until_its_reset()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();
        for (var i = 0; i < 6; i++)
        {
            await client.CheckAsync(new CheckRequest { Policy = "five", Key = key });
        }

        // Behind the service's back: the state is gone from Redis, yet the denial stands.
        await redis.Database.KeyDeleteAsync(Platform.RateLimit.RedisRateLimiter.StateKey("five", "tests/" + key, Platform.RateLimit.RateLimitAlgorithm.FixedWindow));
        var cached = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key });
        var peek = await client.CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 0 });

        Assert.False(cached.Allowed);
        Assert.True(cached.RetryAfter.ToTimeSpan() > TimeSpan.Zero);
        Assert.True(peek.Allowed); // a peek always asks Redis
    }

    [Fact]
    public async Task A_reset_on_one_replica_clears_the_over_limit_memory_of_every_replica()
    {
        var first = StartClient();
        var second = StartClient();
        var key = Guid.NewGuid().ToString();
        for (var i = 0; i < 6; i++)
        {
            await first.CheckAsync(new CheckRequest { Policy = "five", Key = key });
        }
        // The second replica sees the denial too, and remembers it.
        Assert.False((await second.CheckAsync(new CheckRequest { Policy = "five", Key = key })).Allowed);

        await first.ResetAsync(new ResetRequest { Policy = "five", Key = key });

        Assert.True(await Eventually.TrueAsync(async () => (await second.CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 5 })).Allowed));
    }

    [Fact]
    public async Task Bad_fields_are_rejected_with_every_violation_named()
    {
        var client = StartClient();

        var (code, details) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "no spaces!", Key = "" }).ResponseAsync);
        var (costCode, costDetails) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "five", Key = "k", Cost = 6 }).ResponseAsync);
        var (longCode, longDetails) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "five", Key = new string('k', RateLimiterService.MaxKeyBytes + 1) }).ResponseAsync);
        var (manyCode, manyDetails) = await Rpc.FailureOf(() => client.CheckManyAsync(new CheckManyRequest()).ResponseAsync);
        var (nestedCode, nestedDetails) = await Rpc.FailureOf(() => client.CheckManyAsync(new CheckManyRequest { Checks = { new CheckRequest { Policy = "five", Key = "k" }, new CheckRequest { Policy = "five", Key = "" } } }).ResponseAsync);
        var (leaseCode, leaseDetails) = await Rpc.FailureOf(() => client.AcquireAsync(new AcquireRequest { Policy = "five", Key = "k" }).ResponseAsync);
        var (checkLeaseCode, checkLeaseDetails) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "uploads", Key = "k" }).ResponseAsync);
        var (ttlCode, ttlDetails) = await Rpc.FailureOf(() => client.AcquireAsync(new AcquireRequest { Policy = "uploads", Key = "k", LeaseTtl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(2)) }).ResponseAsync);
        var (burstCode, burstDetails) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "bucket", Key = "k", Cost = 3 }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, code);
        Assert.Equal(["policy", "key"], details.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, costCode);
        Assert.Equal(["cost"], costDetails.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, longCode);
        Assert.Equal(["key"], longDetails.ViolatedFields());
        Rpc.AssertInvalid(manyCode, manyDetails, "checks");
        Rpc.AssertInvalid(nestedCode, nestedDetails, "checks[1].key");
        Rpc.AssertInvalid(leaseCode, leaseDetails, "policy");
        Rpc.AssertInvalid(checkLeaseCode, checkLeaseDetails, "policy");
        Rpc.AssertInvalid(ttlCode, ttlDetails, "lease_ttl");
        Rpc.AssertInvalid(burstCode, burstDetails, "cost");
    }

    [Fact]
    public async Task Unknown_policy_is_not_found()
    {
        var client = StartClient();

        var (code, _) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "nope", Key = "k" }).ResponseAsync);
        var (otherCaseCode, _) = await Rpc.FailureOf(() => client.CheckAsync(new CheckRequest { Policy = "FIVE", Key = "k" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, code);
        Assert.Equal(StatusCode.NotFound, otherCaseCode); // names are exact: no fresh counter per spelling
    }
}
