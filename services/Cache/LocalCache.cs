using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Platform.Cache;

/// <summary>A value known to this replica: served while fresh (L1), or flagged stale while Redis is down.</summary>
/// <param name="ExpiresAt">When the entry's own TTL runs out.</param>
/// <param name="StaleUntil">The last moment this copy may be served stale: within MaxStaleness, never past ExpiresAt.</param>
public sealed record LocalEntry(byte[] Value, string[] Tags, DateTimeOffset FreshUntil, DateTimeOffset ExpiresAt, DateTimeOffset StaleUntil);

/// <summary>
/// This replica's copy of recently read entries (L1), bounded by bytes and by count. The backplane drops
/// copies when any replica changes them. The same copies back fail-safe reads: while Redis is
/// unreachable, a copy not older than Cache:MaxStaleness, and not past its own TTL, is served as stale.
/// </summary>
/// <remarks>
/// Hand-written rather than FusionCache: FusionCache's single flight runs the factory inside one process,
/// while ours hands a lease to a remote caller who fills later through another RPC, and the service must
/// report each entry's exact remaining TTL and per-namespace stats. The building blocks are the
/// framework's MemoryCache (size-bounded, with eviction tokens).
/// </remarks>
public sealed class LocalCache : IDisposable
{
    readonly MemoryCache entries;
    readonly ConcurrentDictionary<string, CancellationTokenSource> namespaces = new();
    readonly IOptionsMonitor<CacheOptions> options;
    readonly TimeProvider time;
    long epoch;

    public LocalCache(IOptionsMonitor<CacheOptions> options, TimeProvider time)
    {
        this.options = options;
        this.time = time;
        entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = Math.Max(1, options.CurrentValue.L1MaxBytes) });
    }

    bool Enabled => options.CurrentValue.L1MaxBytes > 0;

    /// <summary>Changes with every invalidation this replica hears of; a read that saw it change must not fill L1.</summary>
    public long Epoch => Interlocked.Read(ref epoch);

    public LocalEntry? GetFresh(string ns, string key) =>
        entries.TryGetValue((ns, key), out LocalEntry? entry) && entry is not null && time.GetUtcNow() < entry.FreshUntil ? entry : null;

    public LocalEntry? GetStale(string ns, string key) =>
        entries.TryGetValue((ns, key), out LocalEntry? entry) && entry is not null && time.GetUtcNow() < entry.StaleUntil ? entry : null;

    /// <summary>Keeps a copy of what Redis returned, unless an invalidation arrived since <paramref name="readEpoch"/>.</summary>
    public void Put(string ns, string key, StoredEntry stored, long readEpoch)
    {
        if (!Enabled || readEpoch != Epoch)
        {
            return;
        }
        var settings = options.CurrentValue;
        var now = time.GetUtcNow();
        var expiresAt = now + stored.TtlRemaining;
        var staleUntil = Min(expiresAt, now + settings.MaxStaleness);
        var entry = new LocalEntry(stored.Value, stored.Tags, Min(expiresAt, now + settings.L1Ttl), expiresAt, staleUntil);
        var cacheOptions = new MemoryCacheEntryOptions
        {
            // Every entry counts at least L1MaxBytes / L1MaxEntries, so the byte bound also bounds the count.
            Size = Math.Max(stored.Value.Length + 128, settings.L1MaxBytes / Math.Max(1, settings.L1MaxEntries)),
            AbsoluteExpiration = Max(entry.FreshUntil, staleUntil),
        };
        cacheOptions.AddExpirationToken(new CancellationChangeToken(NamespaceToken(ns).Token));
        entries.Set((ns, key), entry, cacheOptions);
        if (readEpoch != Epoch)
        {
            // An invalidation landed while the copy was being made: it may predate it, so drop it.
            entries.Remove((ns, key));
        }
    }

    public void Invalidate(string ns, string key)
    {
        Interlocked.Increment(ref epoch);
        entries.Remove((ns, key));
    }

    /// <summary>Drops every copy of a namespace (after a tag invalidation or a clear).</summary>
    public void InvalidateNamespace(string ns)
    {
        Interlocked.Increment(ref epoch);
        if (namespaces.TryRemove(ns, out var token))
        {
            // Cancelled, not disposed: a concurrent Put may still be reading its token.
            token.Cancel();
        }
    }

    /// <summary>Drops everything: after a backplane outage, messages may have been missed.</summary>
    public void InvalidateAll()
    {
        foreach (var ns in namespaces.Keys)
        {
            InvalidateNamespace(ns);
        }
        entries.Compact(1.0);
    }

    CancellationTokenSource NamespaceToken(string ns) => namespaces.GetOrAdd(ns, _ => new CancellationTokenSource());

    static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
    static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    public void Dispose() => entries.Dispose();
}
