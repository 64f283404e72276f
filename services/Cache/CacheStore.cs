using StackExchange.Redis;

namespace Platform.Cache;

public readonly record struct CacheEntry(byte[] Value, TimeSpan TtlRemaining);

/// <summary>
/// Entries as plain Redis strings with a TTL: Redis expires them on its own, so there is no cleanup loop.
/// </summary>
public sealed class CacheStore(IConnectionMultiplexer redis)
{
    public async Task<CacheEntry?> GetAsync(string ns, string key)
    {
        var entry = await redis.GetDatabase().StringGetWithExpiryAsync(EntryKey(ns, key));
        return entry.Value.IsNull ? null : new CacheEntry((byte[])entry.Value!, entry.Expiry ?? TimeSpan.Zero);
    }

    public Task SetAsync(string ns, string key, ReadOnlyMemory<byte> value, TimeSpan ttl) =>
        redis.GetDatabase().StringSetAsync(EntryKey(ns, key), value, ttl);

    // The namespace cannot contain ':' (validated), so (namespace, key) pairs never collide. The hash tag
    // holds both, so the keys of one entry's family share a cluster slot while entries spread across slots.
    static RedisKey EntryKey(string ns, string key) => $"cache:{{{ns}:{key}}}:v";
}
