using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.Tests.Support;
using CacheClient = Platform.Cache.V1.Cache.CacheClient;

namespace Platform.Tests.Cache;

public sealed class CacheServiceTestsOnRedis(RedisServerFixture redis) : CacheServiceTests(redis), IClassFixture<RedisServerFixture>;
public sealed class CacheServiceTestsOnGarnet(GarnetFixture redis) : CacheServiceTests(redis), IClassFixture<GarnetFixture>;
public sealed class CacheServiceTestsOnRedisCluster(RedisClusterFixture redis) : CacheServiceTests(redis), IClassFixture<RedisClusterFixture>;

public abstract class CacheServiceTests(RedisFixture redis) : HostedTest
{
    static Duration Ttl(TimeSpan span) => Duration.FromTimeSpan(span);
    static readonly Duration FiveMinutes = Ttl(TimeSpan.FromMinutes(5));

    CacheClient StartClient(params (string, string?)[] settings) => new(Start<CacheService>(redis, settings).Channel());

    static SetRequest Entry(string ns, string key, string value, params string[] tags) =>
        new() { Namespace = ns, Key = key, Value = ByteString.CopyFromUtf8(value), Ttl = FiveMinutes, Tags = { tags } };

    static async Task<string?> ValueOf(CacheClient client, string ns, string key)
    {
        var read = await client.GetAsync(new GetRequest { Namespace = ns, Key = key });
        return read.Found ? read.Value.ToStringUtf8() : null;
    }

    [Fact]
    public async Task Set_then_get_returns_the_value_its_tags_and_its_remaining_ttl()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();
        var value = ByteString.CopyFrom([0, 1, 2, 255]);

        await client.SetAsync(new SetRequest { Namespace = "tests", Key = key, Value = value, Ttl = FiveMinutes, Tags = { "user:7" } });
        var hit = await client.GetAsync(new GetRequest { Namespace = "tests", Key = key });
        var fromCopy = await client.GetAsync(new GetRequest { Namespace = "tests", Key = key });

        Assert.InRange(fromCopy.TtlRemaining.ToTimeSpan(), TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
        Assert.True(hit.Found);
        Assert.False(hit.Stale);
        Assert.Equal(value, hit.Value);
        Assert.Equal(["user:7"], hit.Tags);
        Assert.InRange(hit.TtlRemaining.ToTimeSpan(), TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task Entries_carry_their_ttl_in_redis_so_they_expire_on_their_own()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        await client.SetAsync(new SetRequest { Namespace = "tests", Key = key, Value = ByteString.CopyFromUtf8("v"), Ttl = Ttl(TimeSpan.FromSeconds(30)) });

        var ttl = await redis.Database.KeyTimeToLiveAsync(Platform.Cache.CacheKeys.Entry("tests/tests", key));
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        Assert.Equal("v", (string?)await redis.Database.HashGetAsync(Platform.Cache.CacheKeys.Entry("tests/tests", key), "v"));
    }

    [Fact]
    public async Task Missing_key_is_not_found_and_namespaces_are_isolated()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        await client.SetAsync(Entry("team-a", key, "a"));
        var otherNamespace = await client.GetAsync(new GetRequest { Namespace = "team-b", Key = key });
        var missing = await client.GetAsync(new GetRequest { Namespace = "team-a", Key = key + "-other" });

        Assert.False(otherNamespace.Found);
        Assert.False(missing.Found);
        Assert.True(otherNamespace.Value.IsEmpty);
    }

    [Fact]
    public async Task Invalidating_a_tag_makes_every_entry_carrying_it_a_miss()
    {
        var client = StartClient();
        var ns = "tags-" + Guid.NewGuid().ToString("N")[..8];

        await client.SetAsync(Entry(ns, "a", "a", "user:1"));
        await client.SetAsync(Entry(ns, "b", "b", "user:2"));
        await client.SetAsync(Entry(ns, "c", "c", "user:2", "user:1"));
        await client.SetAsync(Entry(ns, "d", "d"));
        Assert.Equal("a", await ValueOf(client, ns, "a")); // now also in this replica's L1

        await client.InvalidateTagsAsync(new InvalidateTagsRequest { Namespace = ns, Tags = { "user:1" } });
        var afterInvalidation = new[] { await ValueOf(client, ns, "a"), await ValueOf(client, ns, "b"), await ValueOf(client, ns, "c"), await ValueOf(client, ns, "d") };
        await client.SetAsync(Entry(ns, "a", "a2", "user:1"));

        Assert.Equal([null, "b", null, "d"], afterInvalidation);
        Assert.Equal("a2", await ValueOf(client, ns, "a")); // stored after the invalidation: valid
        Assert.Equal(3ul, (await client.GetStatsAsync(new GetStatsRequest { Namespace = ns })).Keys); // c is gone from the index too
    }

    [Fact]
    public async Task Delete_get_many_and_clear()
    {
        var client = StartClient();
        var ns = "clear-" + Guid.NewGuid().ToString("N")[..8];
        await client.SetAsync(Entry(ns, "one", "1"));
        await client.SetAsync(Entry(ns, "two", "2"));
        await client.SetAsync(Entry(ns, "three", "3"));
        await client.SetAsync(Entry("kept", ns, "other namespace"));

        var deleted = await client.DeleteAsync(new DeleteRequest { Namespace = ns, Key = "two" });
        var deletedAgain = await client.DeleteAsync(new DeleteRequest { Namespace = ns, Key = "two" });
        var many = await client.GetManyAsync(new GetManyRequest { Namespace = ns, Keys = { "three", "two", "one" } });
        var cleared = await client.ClearAsync(new ClearRequest { Namespace = ns });
        var afterClear = await client.GetManyAsync(new GetManyRequest { Namespace = ns, Keys = { "one", "three" } });

        Assert.True(deleted.Deleted);
        Assert.False(deletedAgain.Deleted);
        Assert.Equal(["3", null, "1"], many.Results.Select(r => r.Found ? r.Value.ToStringUtf8() : null));
        Assert.Equal(2ul, cleared.Removed);
        Assert.All(afterClear.Results, r => Assert.False(r.Found));
        Assert.Equal("other namespace", await ValueOf(client, "kept", ns));
    }

    [Fact]
    public async Task Stats_count_reads_keys_and_bytes()
    {
        var client = StartClient();
        var ns = "stats-" + Guid.NewGuid().ToString("N")[..8];

        await client.SetAsync(Entry(ns, "k1", "12345"));
        await client.SetAsync(Entry(ns, "k2", "123"));
        await client.SetAsync(Entry(ns, "k2", "1234567890")); // replaced: counted once, new size
        await ValueOf(client, ns, "k1"); // Redis
        await ValueOf(client, ns, "k1"); // this replica's copy
        await ValueOf(client, ns, "missing");
        var stats = await client.GetStatsAsync(new GetStatsRequest { Namespace = ns });

        Assert.Equal(2ul, stats.Hits);
        Assert.Equal(1ul, stats.L1Hits);
        Assert.Equal(1ul, stats.Misses);
        Assert.Equal(2.0 / 3, stats.HitRatio, 6);
        Assert.Equal(2ul, stats.Keys);
        Assert.Equal(15ul, stats.Bytes);
    }

    [Fact]
    public async Task A_change_on_one_replica_reaches_the_other_replicas_copy()
    {
        // L1 copies live ten minutes here: only the backplane can explain a fresh read.
        var first = StartClient(("Cache:L1Ttl", "00:10:00"));
        var second = StartClient(("Cache:L1Ttl", "00:10:00"));
        var ns = "backplane-" + Guid.NewGuid().ToString("N")[..8];
        await first.SetAsync(Entry(ns, "k", "v1", "t"));
        Assert.Equal("v1", await ValueOf(second, ns, "k"));
        Assert.Equal("v1", await ValueOf(second, ns, "k")); // served from the second replica's copy

        await first.SetAsync(Entry(ns, "k", "v2", "t"));
        var seenSet = await Eventually.TrueAsync(async () => await ValueOf(second, ns, "k") == "v2");
        await first.InvalidateTagsAsync(new InvalidateTagsRequest { Namespace = ns, Tags = { "t" } });
        var seenInvalidation = await Eventually.TrueAsync(async () => await ValueOf(second, ns, "k") is null);

        Assert.True(seenSet, "the second replica kept serving v1");
        Assert.True(seenInvalidation, "the second replica kept serving an invalidated entry");
    }

    [Fact]
    public async Task Limits_are_enforced_with_the_field_and_limit_named()
    {
        var client = StartClient();
        var oversizeValue = ByteString.CopyFrom(new byte[1024 * 1024 + 1]);
        var oversizeKey = new string('k', 1025);

        var (valueCode, valueDetails) = await Rpc.FailureOf(() => client.SetAsync(new SetRequest { Namespace = "tests", Key = "k", Value = oversizeValue, Ttl = Ttl(TimeSpan.FromMinutes(1)) }).ResponseAsync);
        var (ttlCode, ttlDetails) = await Rpc.FailureOf(() => client.SetAsync(new SetRequest { Namespace = "tests", Key = "k", Ttl = Ttl(TimeSpan.FromDays(8)) }).ResponseAsync);
        var (noTtlCode, noTtlDetails) = await Rpc.FailureOf(() => client.SetAsync(new SetRequest { Namespace = "tests", Key = "k" }).ResponseAsync);
        var (keyCode, keyDetails) = await Rpc.FailureOf(() => client.GetAsync(new GetRequest { Namespace = "", Key = oversizeKey }).ResponseAsync);
        var (tagCode, tagDetails) = await Rpc.FailureOf(() => client.SetAsync(new SetRequest { Namespace = "tests", Key = "k", Ttl = FiveMinutes, Tags = { "ok", "", "a\nb" } }).ResponseAsync);
        var (manyCode, manyDetails) = await Rpc.FailureOf(() => client.GetManyAsync(new GetManyRequest { Namespace = "tests", Keys = { Enumerable.Range(0, 101).Select(i => $"k{i}") } }).ResponseAsync);
        var (malformedCode, malformedDetails) = await Rpc.FailureOf(() => client.SetAsync(new SetRequest { Namespace = "tests", Key = "k", Ttl = new Duration { Seconds = 60, Nanos = -1 } }).ResponseAsync);
        var (waitCode, waitDetails) = await Rpc.FailureOf(() => client.LookupAsync(new LookupRequest { Namespace = "tests", Key = "k", MaxWait = Ttl(TimeSpan.FromMinutes(2)), LeaseTtl = Ttl(TimeSpan.Zero) }).ResponseAsync);

        Rpc.AssertInvalid(valueCode, valueDetails, "value");
        Assert.Contains("1048576 bytes", valueDetails!.Message);
        Rpc.AssertInvalid(ttlCode, ttlDetails, "ttl");
        Rpc.AssertInvalid(noTtlCode, noTtlDetails, "ttl");
        Rpc.AssertInvalid(keyCode, keyDetails, "namespace", "key");
        Rpc.AssertInvalid(tagCode, tagDetails, "tags[1]", "tags[2]");
        Rpc.AssertInvalid(manyCode, manyDetails, "keys");
        Rpc.AssertInvalid(waitCode, waitDetails, "lease_ttl", "max_wait");
        Rpc.AssertInvalid(malformedCode, malformedDetails, "ttl");
    }
}
