using System.Globalization;
using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.Cache;

/// <summary>An entry as read from Redis: stored-at is the server time (us) tags are judged against.</summary>
public sealed record StoredEntry(byte[] Value, TimeSpan TtlRemaining, string[] Tags, string StoredAt);

public abstract record LookupOutcome
{
    public sealed record Hit(StoredEntry Entry) : LookupOutcome;
    public sealed record Leased : LookupOutcome;
    public sealed record Wait(TimeSpan LeaseRemaining) : LookupOutcome;
}

public sealed record NamespaceStats(long Hits, long Misses, long Fills, long LeaseWaits, long Evictions, long L1Hits, long Keys, long Bytes);

/// <summary>The Redis side (L2) of the cache. Every multi-step change is one script, on one slot.</summary>
public sealed class CacheStore(IConnectionMultiplexer redis)
{
    static readonly RedisScript GetScript = Load("get.lua");
    static readonly RedisScript StoreScript = Load("store.lua");
    static readonly RedisScript LookupScript = Load("lookup.lua");
    static readonly RedisScript AbandonScript = Load("abandon.lua");
    static readonly RedisScript DeleteIfStoredAtScript = Load("delete_if_stored_at.lua");
    static readonly RedisScript InvalidateTagsScript = Load("invalidate_tags.lua");
    static readonly RedisScript IndexScript = Load("index.lua");
    static readonly RedisScript StatsScript = Load("stats.lua");

    static RedisScript Load(string name) => RedisScript.FromResource(typeof(CacheStore).Assembly, name);

    IDatabase Db => redis.GetDatabase();

    public async Task<StoredEntry?> GetAsync(string ns, string key)
    {
        var reply = await GetScript.EvaluateAsync(Db, [CacheKeys.Entry(ns, key)], []);
        return reply.IsNull ? null : ToEntry((RedisResult[])reply!, 0);
    }

    /// <summary>Stores a value; with a lease token, only if no other caller holds the lease (Fill).</summary>
    public async Task<bool> StoreAsync(string ns, string key, ReadOnlyMemory<byte> value, TimeSpan ttl, IReadOnlyList<string> tags, string leaseToken = "")
    {
        var ttlMs = (long)Math.Ceiling(ttl.TotalMilliseconds);
        var stored = (long)await StoreScript.EvaluateAsync(Db,
            [CacheKeys.Entry(ns, key), CacheKeys.Lease(ns, key)],
            [value, ttlMs, string.Join('\n', tags), leaseToken]) == 1;
        if (stored)
        {
            await IndexScript.EvaluateAsync(Db, IndexKeys(ns), [key, ttlMs, value.Length]);
        }
        return stored;
    }

    public async Task<bool> DeleteAsync(string ns, string key)
    {
        var deleted = await Db.KeyDeleteAsync(CacheKeys.Entry(ns, key));
        await IndexScript.EvaluateAsync(Db, IndexKeys(ns), [key, 0, ""]);
        return deleted;
    }

    /// <summary>True when none of the entry's tags was invalidated after it was stored.</summary>
    public async Task<bool> TagsStillValidAsync(string ns, StoredEntry entry)
    {
        if (entry.Tags.Length == 0)
        {
            return true;
        }
        var invalidatedAt = await Db.HashGetAsync(CacheKeys.Tags(ns), entry.Tags.Select(t => (RedisValue)t).ToArray());
        var storedAt = long.Parse(entry.StoredAt, CultureInfo.InvariantCulture);
        return invalidatedAt.All(at => at.IsNull || (long)at < storedAt);
    }

    /// <summary>Removes an entry judged invalid (and its place in the index), unless it has been replaced since.</summary>
    public async Task DeleteIfStoredAtAsync(string ns, string key, string storedAt)
    {
        if ((long)await DeleteIfStoredAtScript.EvaluateAsync(Db, [CacheKeys.Entry(ns, key)], [storedAt]) == 1)
        {
            await IndexScript.EvaluateAsync(Db, IndexKeys(ns), [key, 0, ""]);
        }
    }

    /// <param name="longestTtl">No entry lives longer (Cache:MaxTtl): older invalidations are dropped.</param>
    public Task InvalidateTagsAsync(string ns, IReadOnlyList<string> tags, TimeSpan longestTtl) =>
        InvalidateTagsScript.EvaluateAsync(Db, [CacheKeys.Tags(ns), CacheKeys.TagsByTime(ns)],
            [longestTtl.Ticks / TimeSpan.TicksPerMicrosecond, .. tags.Select(t => (RedisValue)t)]);

    public async Task<long> ClearAsync(string ns)
    {
        var keys = await Db.SortedSetRangeByRankAsync(CacheKeys.Index(ns));
        long removed = 0;
        // Entries live in their own slots: delete them one by one (pipelined), never as one cross-slot DEL.
        foreach (var batch in keys.Chunk(500))
        {
            var deletions = batch.Select(k => Db.KeyDeleteAsync(CacheKeys.Entry(ns, k!)));
            removed += (await Task.WhenAll(deletions)).Count(d => d);
        }
        await Db.KeyDeleteAsync([CacheKeys.Index(ns), CacheKeys.Sizes(ns)]);
        await Db.HashSetAsync(CacheKeys.Stats(ns), "bytes", 0);
        return removed;
    }

    public async Task<LookupOutcome> LookupAsync(string ns, string key, string token, TimeSpan leaseTtl)
    {
        var reply = (RedisResult[])(await LookupScript.EvaluateAsync(Db,
            [CacheKeys.Entry(ns, key), CacheKeys.Lease(ns, key)],
            [token, (long)Math.Ceiling(leaseTtl.TotalMilliseconds)]))!;
        return (string)reply[0]! switch
        {
            "hit" => new LookupOutcome.Hit(ToEntry(reply, 1)),
            "lease" => new LookupOutcome.Leased(),
            _ => new LookupOutcome.Wait(TimeSpan.FromMilliseconds(Math.Max(0, (long)reply[1]))),
        };
    }

    public async Task<bool> AbandonAsync(string ns, string key, string token) =>
        (long)await AbandonScript.EvaluateAsync(Db, [CacheKeys.Lease(ns, key)], [token]) == 1;

    /// <summary>Adds this replica's counters to the namespace's totals and returns the totals.</summary>
    public async Task<NamespaceStats> StatsAsync(string ns, long hits, long misses, long fills, long leaseWaits, long l1Hits)
    {
        var r = (RedisResult[])(await StatsScript.EvaluateAsync(Db,
            [CacheKeys.Stats(ns), CacheKeys.Index(ns), CacheKeys.Sizes(ns)],
            [hits, misses, fills, leaseWaits, l1Hits]))!;
        return new NamespaceStats((long)r[0], (long)r[1], (long)r[2], (long)r[3], (long)r[4], (long)r[5], Keys: (long)r[7], Bytes: (long)r[6]);
    }

    static RedisKey[] IndexKeys(string ns) => [CacheKeys.Index(ns), CacheKeys.Sizes(ns), CacheKeys.Stats(ns)];

    static StoredEntry ToEntry(RedisResult[] reply, int offset)
    {
        var tags = (string?)reply[offset + 2];
        return new StoredEntry(
            (byte[])reply[offset]!,
            TimeSpan.FromMilliseconds(Math.Max(0, (long)reply[offset + 1])),
            string.IsNullOrEmpty(tags) ? [] : tags.Split('\n'),
            (string)reply[offset + 3]!);
    }
}
