using System.Collections.Concurrent;
using HdrHistogram;

namespace Platform.LoadTest;

/// <summary>What one request told us, besides how long it took.</summary>
/// <param name="Error">Why it failed (e.g. "HTTP 503", "gRPC Unavailable", "HttpRequestException"); null when it did not.</param>
/// <param name="RateLimited">Refused by a rate limit (HTTP 429, or a denied check): counted apart from errors.</param>
/// <param name="UpstreamMs">The model's share of the response time (ChatApi's Server-Timing), for the platform's overhead.</param>
/// <param name="Cache">ChatApi's X-Cache: HIT, MISS or BYPASS.</param>
public readonly record struct Sample(
    string? Error = null, bool RateLimited = false, double? UpstreamMs = null, string? Cache = null)
{
    public static readonly Sample Ok = new();
    public static Sample Failed(string why) => new(Error: why);
}

/// <summary>
/// Everything a run measures, safe to record from many threads: latency and overhead in HdrHistogram
/// (microseconds, 3 significant digits, up to an hour), counts by outcome, and queue waits (estimated vs
/// actual). An interval histogram, swapped every second, feeds the live p99.
/// </summary>
public sealed class LoadMetrics
{
    const long MaxMicros = 3_600_000_000;

    readonly LongConcurrentHistogram latency = NewHistogram(), overhead = NewHistogram();
    LongConcurrentHistogram interval = NewHistogram();
    readonly ConcurrentDictionary<string, long> errors = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, long> cache = new(StringComparer.Ordinal);
    readonly ConcurrentBag<(double EstimatedSeconds, double ActualSeconds)> queueWaits = [];
    long requests, rateLimited;

    static LongConcurrentHistogram NewHistogram() => new(1, MaxMicros, 3);

    public long Requests => Interlocked.Read(ref requests);
    public long Errors => errors.Values.Sum();
    public long RateLimited => Interlocked.Read(ref rateLimited);
    public IReadOnlyDictionary<string, long> ErrorsByKind => errors;
    public IReadOnlyDictionary<string, long> CacheStatuses => cache;
    public IReadOnlyCollection<(double EstimatedSeconds, double ActualSeconds)> QueueWaits => queueWaits;
    public HistogramBase Latency => latency;
    public HistogramBase Overhead => overhead;

    public void Record(TimeSpan elapsed, Sample sample)
    {
        Interlocked.Increment(ref requests);
        if (sample.Error is { } error)
        {
            errors.AddOrUpdate(error, 1, (_, n) => n + 1);
            return; // a failure's time says nothing about the platform's speed
        }
        if (sample.RateLimited)
        {
            Interlocked.Increment(ref rateLimited);
        }
        var micros = Math.Clamp((long)(elapsed.Ticks / 10), 1, MaxMicros);
        latency.RecordValue(micros);
        Volatile.Read(ref interval).RecordValue(micros);
        if (sample.UpstreamMs is { } upstream)
        {
            overhead.RecordValue(Math.Clamp(micros - (long)(upstream * 1000), 1, MaxMicros));
        }
        if (sample.Cache is { } status)
        {
            cache.AddOrUpdate(status, 1, (_, n) => n + 1);
        }
    }

    public void RecordQueueWait(TimeSpan estimated, TimeSpan actual) => queueWaits.Add((estimated.TotalSeconds, actual.TotalSeconds));

    /// <summary>The p99 since the last call (for the live display), in milliseconds.</summary>
    public double TakeIntervalP99Ms()
    {
        var last = Interlocked.Exchange(ref interval, NewHistogram());
        return last.TotalCount == 0 ? 0 : last.GetValueAtPercentile(99) / 1000.0;
    }
}
