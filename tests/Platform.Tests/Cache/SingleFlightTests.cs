using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.Tests.Support;
using CacheClient = Platform.Cache.V1.Cache.CacheClient;

namespace Platform.Tests.Cache;

public sealed class SingleFlightTestsOnRedis(RedisServerFixture redis) : SingleFlightTests(redis), IClassFixture<RedisServerFixture>;
public sealed class SingleFlightTestsOnGarnet(GarnetFixture redis) : SingleFlightTests(redis), IClassFixture<GarnetFixture>;
public sealed class SingleFlightTestsOnRedisCluster(RedisClusterFixture redis) : SingleFlightTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>Stampede protection across replicas: however many callers ask at once, one computes.</summary>
public abstract class SingleFlightTests(RedisFixture redis) : HostedTest
{
    CacheClient[] StartReplicas() =>
        [new(Start<CacheService>(redis).Channel()), new(Start<CacheService>(redis).Channel())];

    static LookupRequest Lookup(string key, TimeSpan? leaseTtl = null) => new()
    {
        Namespace = "flight", Key = key,
        LeaseTtl = Duration.FromTimeSpan(leaseTtl ?? TimeSpan.FromSeconds(30)),
        MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
    };

    static FillRequest Fill(string key, string token, string value) => new()
    {
        Namespace = "flight", Key = key, Token = token, Value = ByteString.CopyFromUtf8(value),
        Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)),
    };

    [Fact]
    public async Task Five_hundred_concurrent_lookups_on_two_replicas_grant_one_lease_and_all_others_get_the_fill()
    {
        var replicas = StartReplicas();
        var key = Guid.NewGuid().ToString();

        var lookups = Enumerable.Range(0, 500).Select(i => replicas[i % 2].LookupAsync(Lookup(key)).ResponseAsync).ToList();
        var first = await await Task.WhenAny(lookups);
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, first.ResultCase);
        await replicas[0].FillAsync(Fill(key, first.Lease.Token, "computed once"));
        var all = await Task.WhenAll(lookups);

        Assert.Single(all, r => r.ResultCase == LookupResponse.ResultOneofCase.Lease);
        Assert.Equal(499, all.Count(r => r.ResultCase == LookupResponse.ResultOneofCase.Hit && r.Hit.Value.ToStringUtf8() == "computed once"));
        Assert.Contains(all, r => r.ResultCase == LookupResponse.ResultOneofCase.Hit && r.Hit.Waited);
        Assert.False((await replicas[1].LookupAsync(Lookup(key))).Hit.Waited); // there already: no wait
        // Asked of the replica that filled; each replica folds its own counts into the totals it reports.
        var stats = await replicas[0].GetStatsAsync(new GetStatsRequest { Namespace = "flight" });
        Assert.True(stats.LeaseWaits >= 1);
        Assert.True(stats.Fills >= 1);
    }

    [Fact]
    public async Task When_the_holder_dies_exactly_one_waiter_takes_over_the_lease()
    {
        var replicas = StartReplicas();
        var key = Guid.NewGuid().ToString();
        var holder = await replicas[0].LookupAsync(Lookup(key, TimeSpan.FromSeconds(1)));
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, holder.ResultCase);

        // The holder never fills: its one-second lease runs out and one waiter inherits it.
        var waiters = Enumerable.Range(0, 40).Select(i => replicas[i % 2].LookupAsync(Lookup(key)).ResponseAsync).ToList();
        var successor = await await Task.WhenAny(waiters);
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, successor.ResultCase);
        var (lateCode, _) = await Rpc.FailureOf(() => replicas[0].FillAsync(Fill(key, holder.Lease.Token, "too late")).ResponseAsync);
        await replicas[1].FillAsync(Fill(key, successor.Lease.Token, "from the successor"));
        var all = await Task.WhenAll(waiters);

        Assert.Equal(StatusCode.FailedPrecondition, lateCode);
        Assert.Single(all, r => r.ResultCase == LookupResponse.ResultOneofCase.Lease);
        Assert.All(all.Where(r => r.ResultCase != LookupResponse.ResultOneofCase.Lease), r => Assert.Equal("from the successor", r.Hit.Value.ToStringUtf8()));
    }

    [Fact]
    public async Task Abandon_hands_the_lease_to_a_waiter_at_once_and_max_wait_bounds_the_wait()
    {
        var replicas = StartReplicas();
        var key = Guid.NewGuid().ToString();
        var holder = await replicas[0].LookupAsync(Lookup(key));

        var impatient = await replicas[1].LookupAsync(new LookupRequest { Namespace = "flight", Key = key, MaxWait = Duration.FromTimeSpan(TimeSpan.Zero) });
        var waiter = replicas[1].LookupAsync(Lookup(key)).ResponseAsync;
        await replicas[0].AbandonAsync(new AbandonRequest { Namespace = "flight", Key = key, Token = holder.Lease.Token });
        var successor = await waiter;
        var (abandonAgainCode, _) = await Rpc.FailureOf(() => replicas[0].AbandonAsync(new AbandonRequest { Namespace = "flight", Key = key, Token = holder.Lease.Token }).ResponseAsync);

        Assert.Equal(LookupResponse.ResultOneofCase.Timeout, impatient.ResultCase);
        Assert.True(impatient.Timeout.LeaseRemaining.ToTimeSpan() > TimeSpan.Zero);
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, successor.ResultCase);
        Assert.Equal(StatusCode.FailedPrecondition, abandonAgainCode);
    }
}
