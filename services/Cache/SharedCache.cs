using Platform.ServiceDefaults;

namespace Platform.Cache;

public sealed record CacheRead(bool Found, byte[] Value, TimeSpan? TtlRemaining, string[] Tags, bool Stale)
{
    public static readonly CacheRead Miss = new(false, [], null, [], false);
}

public abstract record LookupResult
{
    /// <param name="Waited">The value arrived while waiting for another caller's Fill.</param>
    public sealed record Hit(CacheRead Read, bool Waited = false) : LookupResult;
    public sealed record Lease(string Token, TimeSpan LeaseTtl) : LookupResult;
    public sealed record Timeout(TimeSpan LeaseRemaining) : LookupResult;
}

/// <summary>
/// The cache as callers see it: L1 copies, Redis (L2), tag validity, single flight, fail-safe reads
/// and stats, whichever RPC asked.
/// </summary>
public sealed class SharedCache(
    CacheStore store, LocalCache local, CacheBackplane backplane, LeaseWaiters waiters, CacheStats stats,
    Microsoft.Extensions.Options.IOptionsMonitor<CacheOptions> options, TimeProvider time)
{
    public async Task<CacheRead> GetAsync(string ns, string key)
    {
        if (local.GetFresh(ns, key) is { } copy)
        {
            stats.Hit(ns, "l1");
            return new CacheRead(true, copy.Value, copy.ExpiresAt - time.GetUtcNow(), copy.Tags, Stale: false);
        }

        var epoch = local.Epoch;
        StoredEntry? entry;
        try
        {
            entry = await ValidAsync(ns, key, await store.GetAsync(ns, key));
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            // Fail-safe: a recent copy beats an error; writes still fail loudly.
            if (local.GetStale(ns, key) is { } stale)
            {
                stats.Hit(ns, "stale");
                return new CacheRead(true, stale.Value, null, stale.Tags, Stale: true);
            }
            throw;
        }

        if (entry is null)
        {
            stats.Miss(ns);
            return CacheRead.Miss;
        }
        local.Put(ns, key, entry, epoch);
        stats.Hit(ns, "l2");
        return new CacheRead(true, entry.Value, entry.TtlRemaining, entry.Tags, Stale: false);
    }

    public async Task SetAsync(string ns, string key, ReadOnlyMemory<byte> value, TimeSpan ttl, IReadOnlyList<string> tags)
    {
        await store.StoreAsync(ns, key, value, ttl, tags);
        await backplane.PublishKeyChangedAsync(ns, key);
    }

    public async Task<bool> DeleteAsync(string ns, string key)
    {
        var deleted = await store.DeleteAsync(ns, key);
        await backplane.PublishKeyChangedAsync(ns, key);
        return deleted;
    }

    public async Task InvalidateTagsAsync(string ns, IReadOnlyList<string> tags)
    {
        await store.InvalidateTagsAsync(ns, tags, options.CurrentValue.MaxTtl);
        await backplane.PublishNamespaceChangedAsync(ns);
    }

    public async Task<long> ClearAsync(string ns)
    {
        var removed = await store.ClearAsync(ns);
        await backplane.PublishNamespaceChangedAsync(ns);
        return removed;
    }

    public async Task<LookupResult> LookupAsync(string ns, string key, TimeSpan leaseTtl, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        if (local.GetFresh(ns, key) is { } copy)
        {
            stats.Hit(ns, "l1");
            return new LookupResult.Hit(new CacheRead(true, copy.Value, copy.ExpiresAt - time.GetUtcNow(), copy.Tags, false));
        }

        var deadline = time.GetUtcNow() + maxWait;
        var waited = false;
        while (true)
        {
            // Joined before asking Redis, so a Fill that lands in between still wakes us.
            var changed = waiters.Join(ns, key);
            try
            {
                var epoch = local.Epoch;
                var token = Guid.NewGuid().ToString("N");
                switch (await store.LookupAsync(ns, key, token, leaseTtl))
                {
                    case LookupOutcome.Hit hit:
                        if (await ValidAsync(ns, key, hit.Entry) is not { } entry)
                        {
                            continue; // tag-invalidated: it is gone now, ask again
                        }
                        local.Put(ns, key, entry, epoch);
                        stats.Hit(ns, "l2");
                        return new LookupResult.Hit(new CacheRead(true, entry.Value, entry.TtlRemaining, entry.Tags, false), waited);

                    case LookupOutcome.Leased:
                        stats.Miss(ns);
                        return new LookupResult.Lease(token, leaseTtl);

                    case LookupOutcome.Wait wait:
                        if (!waited)
                        {
                            stats.LeaseWait(ns);
                            waited = true;
                        }
                        var left = deadline - time.GetUtcNow();
                        if (left <= TimeSpan.Zero)
                        {
                            stats.Miss(ns);
                            return new LookupResult.Timeout(wait.LeaseRemaining);
                        }
                        // Wake on the Fill (or Abandon), or when the holder's lease runs out: then one waiter takes over.
                        var nap = Min(left, wait.LeaseRemaining + TimeSpan.FromMilliseconds(5));
                        await Task.WhenAny(changed, Task.Delay(nap, time, cancellationToken));
                        cancellationToken.ThrowIfCancellationRequested();
                        break;
                }
            }
            finally
            {
                waiters.Leave(ns, key, changed);
            }
        }
    }

    /// <returns>False when another caller holds the lease now (this one expired and was taken over).</returns>
    public async Task<bool> FillAsync(string ns, string key, string token, ReadOnlyMemory<byte> value, TimeSpan ttl, IReadOnlyList<string> tags)
    {
        if (!await store.StoreAsync(ns, key, value, ttl, tags, token))
        {
            return false;
        }
        stats.Fill(ns);
        await backplane.PublishKeyChangedAsync(ns, key);
        return true;
    }

    public async Task<bool> AbandonAsync(string ns, string key, string token)
    {
        if (!await store.AbandonAsync(ns, key, token))
        {
            return false;
        }
        await backplane.PublishKeyChangedAsync(ns, key);
        return true;
    }

    public Task<NamespaceStats> GetStatsAsync(string ns) => stats.FlushAsync(store, ns);

    /// <summary>The entry, unless one of its tags was invalidated after it was stored (then it is removed).</summary>
    /// <remarks>An entry without tags is valid as read, without a frame of its own (most reads).</remarks>
    Task<StoredEntry?> ValidAsync(string ns, string key, StoredEntry? entry) =>
        entry is not { Tags.Length: > 0 } ? Task.FromResult(entry) : ValidTaggedAsync(ns, key, entry);

    async Task<StoredEntry?> ValidTaggedAsync(string ns, string key, StoredEntry entry)
    {
        if (await store.TagsStillValidAsync(ns, entry))
        {
            return entry;
        }
        await store.DeleteIfStoredAtAsync(ns, key, entry.StoredAt);
        return null;
    }

    static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
