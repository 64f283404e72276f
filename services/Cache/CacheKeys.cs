using StackExchange.Redis;

namespace Platform.Cache;

/// <summary>
/// Redis key layout. A namespace cannot contain ':' or braces (validated), so pairs never collide.
/// An entry and its lease share the hash tag {namespace:key}, so single-flight scripts touch one slot
/// while entries spread over the cluster; a namespace's own keys (index, tags, stats) share {namespace}.
/// The two groups hash to different slots, so no script or multi-key command ever takes keys of both
/// (CROSSSLOT on a cluster): Set, Fill and Delete update the namespace's index in a second call, and Clear
/// deletes entries one key at a time.
/// </summary>
public static class CacheKeys
{
    public static RedisKey Entry(string ns, string key) => $"cache:{{{ns}:{key}}}:v";
    public static RedisKey Lease(string ns, string key) => $"cache:{{{ns}:{key}}}:lease";
    public static RedisKey Index(string ns) => $"cache:{{{ns}}}:index";
    public static RedisKey Sizes(string ns) => $"cache:{{{ns}}}:sizes";
    public static RedisKey Tags(string ns) => $"cache:{{{ns}}}:tags";
    public static RedisKey TagsByTime(string ns) => $"cache:{{{ns}}}:tags-by-time";
    public static RedisKey Stats(string ns) => $"cache:{{{ns}}}:stats";
}
