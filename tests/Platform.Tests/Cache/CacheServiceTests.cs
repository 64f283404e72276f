using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.Tests.Support;

namespace Platform.Tests.Cache;

public sealed class CacheServiceTestsOnRedis(RedisServerFixture redis) : CacheServiceTests(redis), IClassFixture<RedisServerFixture>;
public sealed class CacheServiceTestsOnGarnet(GarnetFixture redis) : CacheServiceTests(redis), IClassFixture<GarnetFixture>;

public abstract class CacheServiceTests(RedisFixture redis) : HostedTest
{
    static Duration Ttl(TimeSpan span) => Duration.FromTimeSpan(span);

    Platform.Cache.V1.Cache.CacheClient StartClient() => new(Start<CacheService>(redis).Channel());

    [Fact]
    public async Task Set_then_get_returns_the_value_and_its_remaining_ttl()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();
        var value = ByteString.CopyFrom([0, 1, 2, 255]);

        await client.SetAsync(new SetRequest { Namespace = "tests", Key = key, Value = value, Ttl = Ttl(TimeSpan.FromMinutes(5)) });
        var hit = await client.GetAsync(new GetRequest { Namespace = "tests", Key = key });

        Assert.True(hit.Found);
        Assert.Equal(value, hit.Value);
        Assert.InRange(hit.TtlRemaining.ToTimeSpan(), TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task Entries_carry_their_ttl_in_redis_so_they_expire_on_their_own()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        await client.SetAsync(new SetRequest { Namespace = "tests", Key = key, Value = ByteString.CopyFromUtf8("v"), Ttl = Ttl(TimeSpan.FromSeconds(30)) });

        var stored = await redis.Database.StringGetWithExpiryAsync($"cache:{{tests:{key}}}:v");
        Assert.Equal("v", stored.Value);
        Assert.InRange(stored.Expiry!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Missing_key_is_not_found_and_namespaces_are_isolated()
    {
        var client = StartClient();
        var key = Guid.NewGuid().ToString();

        await client.SetAsync(new SetRequest { Namespace = "team-a", Key = key, Value = ByteString.CopyFromUtf8("a"), Ttl = Ttl(TimeSpan.FromMinutes(1)) });
        var otherNamespace = await client.GetAsync(new GetRequest { Namespace = "team-b", Key = key });
        var missing = await client.GetAsync(new GetRequest { Namespace = "team-a", Key = key + "-other" });

        Assert.False(otherNamespace.Found);
        Assert.False(missing.Found);
        Assert.True(otherNamespace.Value.IsEmpty);
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

        Assert.Equal(StatusCode.InvalidArgument, valueCode);
        Assert.Equal(["value"], valueDetails.ViolatedFields());
        Assert.Contains("1048576 bytes", valueDetails!.Message);
        Assert.Equal(StatusCode.InvalidArgument, ttlCode);
        Assert.Equal(["ttl"], ttlDetails.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, noTtlCode);
        Assert.Equal(["ttl"], noTtlDetails.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, keyCode);
        Assert.Equal(["namespace", "key"], keyDetails.ViolatedFields());
    }
}
