using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;
using StackExchange.Redis;

namespace Platform.Cache;

/// <summary>
/// Per-namespace counters. Each replica counts in memory (platform.cache.* metrics at once) and folds
/// its counts into Redis every second, so GetStats answers for all replicas together.
/// </summary>
public sealed class CacheStats
{
    public const string MeterName = PlatformTelemetry.MeterPrefix + "cache";

    /// <summary>A namespace's counts, and its metric tag (built once: recording a metric allocates nothing).</summary>
    sealed class Counts(string ns)
    {
        public long Hits, Misses, Fills, LeaseWaits, L1Hits;
        public readonly KeyValuePair<string, object?> Team = TeamTag(ns);
    }

    static readonly KeyValuePair<string, object?> L1 = new("level", "l1"), L2 = new("level", "l2"), Stale = new("level", "stale");

    readonly ConcurrentDictionary<string, Counts> pending = new();
    readonly ConcurrentDictionary<string, NamespaceStats> lastKnown = new();
    readonly Counter<long> hits, misses, fills, leaseWaits, evictions;

    public CacheStats(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        hits = meter.CreateCounter<long>("platform.cache.hits", "{read}", "Reads that found a value (level=l1 from this replica's copy, l2 from Redis, stale while Redis was down).");
        misses = meter.CreateCounter<long>("platform.cache.misses", "{read}", "Reads that found no value.");
        fills = meter.CreateCounter<long>("platform.cache.fills", "{fill}", "Values stored by single-flight Fill.");
        leaseWaits = meter.CreateCounter<long>("platform.cache.lease_waits", "{lookup}", "Lookups that waited for another caller's Fill.");
        evictions = meter.CreateCounter<long>("platform.cache.evictions", "{entry}", "Entries found expired when the namespace index was swept.");
        meter.CreateObservableGauge("platform.cache.keys", () => ByTeam(s => s.Keys), "{entry}", "Live entries per team (as of the last stats sweep).");
        meter.CreateObservableGauge("platform.cache.bytes", () => ByTeam(s => s.Bytes), "By", "Bytes of live values per team (as of the last stats sweep).");
    }

    /// <summary>
    /// Metrics are tagged with the caller's team (configured credentials: a bounded set), never the namespace:
    /// callers choose namespaces, and each new tag value is a new time series in every metrics backend.
    /// GetStats answers per namespace.
    /// </summary>
    static KeyValuePair<string, object?> TeamTag(string ns) => new("team", Caller.Unscope(ns).Team);

    IEnumerable<Measurement<long>> ByTeam(Func<NamespaceStats, long> value) =>
        lastKnown.GroupBy(s => Caller.Unscope(s.Key).Team).Select(team => new Measurement<long>(team.Sum(s => value(s.Value)), new KeyValuePair<string, object?>("team", team.Key)));

    Counts For(string ns) => pending.GetOrAdd(ns, static ns => new Counts(ns));

    public void Hit(string ns, string level)
    {
        var counts = For(ns);
        Interlocked.Increment(ref counts.Hits);
        if (level == "l1")
        {
            Interlocked.Increment(ref counts.L1Hits);
        }
        hits.Add(1, counts.Team, level switch { "l1" => L1, "l2" => L2, _ => Stale });
    }

    public void Miss(string ns)
    {
        var counts = For(ns);
        Interlocked.Increment(ref counts.Misses);
        misses.Add(1, counts.Team);
    }

    public void Fill(string ns)
    {
        var counts = For(ns);
        Interlocked.Increment(ref counts.Fills);
        fills.Add(1, counts.Team);
    }

    public void LeaseWait(string ns)
    {
        var counts = For(ns);
        Interlocked.Increment(ref counts.LeaseWaits);
        leaseWaits.Add(1, counts.Team);
    }

    /// <summary>Folds this replica's counts for <paramref name="ns"/> into Redis and returns the totals.</summary>
    public async Task<NamespaceStats> FlushAsync(CacheStore store, string ns)
    {
        // Each field is read and zeroed in one step, so increments racing with the flush are never lost.
        var live = For(ns);
        var counts = new Counts(ns)
        {
            Hits = Interlocked.Exchange(ref live.Hits, 0),
            Misses = Interlocked.Exchange(ref live.Misses, 0),
            Fills = Interlocked.Exchange(ref live.Fills, 0),
            LeaseWaits = Interlocked.Exchange(ref live.LeaseWaits, 0),
            L1Hits = Interlocked.Exchange(ref live.L1Hits, 0),
        };
        try
        {
            var before = lastKnown.GetValueOrDefault(ns);
            var totals = await store.StatsAsync(ns, counts.Hits, counts.Misses, counts.Fills, counts.LeaseWaits, counts.L1Hits);
            lastKnown[ns] = totals;
            if (before is not null && totals.Evictions > before.Evictions)
            {
                evictions.Add(totals.Evictions - before.Evictions, TeamTag(ns));
            }
            return totals;
        }
        catch
        {
            var back = For(ns); // not lost: counted again at the next flush
            Interlocked.Add(ref back.Hits, counts.Hits);
            Interlocked.Add(ref back.Misses, counts.Misses);
            Interlocked.Add(ref back.Fills, counts.Fills);
            Interlocked.Add(ref back.LeaseWaits, counts.LeaseWaits);
            Interlocked.Add(ref back.L1Hits, counts.L1Hits);
            throw;
        }
    }

    /// <summary>Namespaces with counts not yet folded into Redis.</summary>
    public IEnumerable<string> ActiveNamespaces =>
        pending.Where(p => Interlocked.Read(ref p.Value.Hits) + Interlocked.Read(ref p.Value.Misses) + Interlocked.Read(ref p.Value.Fills)
                           + Interlocked.Read(ref p.Value.LeaseWaits) > 0).Select(p => p.Key);
}

/// <summary>Every second, folds each namespace's counts into Redis (and refreshes the keys/bytes gauges).</summary>
public sealed partial class CacheStatsFlusher(CacheStats stats, CacheStore store, TimeProvider time, ILogger<CacheStatsFlusher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var ns in stats.ActiveNamespaces.ToList())
            {
                try
                {
                    await stats.FlushAsync(store, ns);
                }
                catch (StackExchange.Redis.RedisException e)
                {
                    LogFlushFailed(e.Message);
                    break;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cache stats not flushed; kept for the next try ({Reason})")]
    partial void LogFlushFailed(string reason);
}
