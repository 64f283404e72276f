using System.Collections.Concurrent;
using HdrHistogram;

namespace Platform.LoadTest;

/// <summary>What one request told us, besides how long it took.</summary>
/// <param name="Error">Why it failed (e.g. "HTTP 503", "gRPC Unavailable", "HttpRequestException"); null when it did not.</param>
/// <param name="RateLimited">Refused by a rate limit (HTTP 429, or a denied check): counted apart from errors.</param>
/// <param name="UpstreamMs">The model's share of the response time (ChatApi's Server-Timing), for the platform's overhead.</param>
/// <param name="Cache">ChatApi's X-Cache: HIT, MISS or BYPASS.</param>
/// <param name="ShedRetryAfter">Refused at the door under load (HTTP 503 with Retry-After): the hint. Counted apart from errors.</param>
public readonly record struct Sample(
    string? Error = null, bool RateLimited = false, double? UpstreamMs = null, string? Cache = null, TimeSpan? ShedRetryAfter = null)
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

    readonly LongConcurrentHistogram latency = NewHistogram(), overhead = NewHistogram(), shedLatency = NewHistogram();
    readonly ConcurrentDictionary<int, Second> timeline = new();
    readonly TimeProvider? clock;
    readonly long startedAt;
    LongConcurrentHistogram interval = NewHistogram();
    readonly ConcurrentDictionary<string, long> errors = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, long> cache = new(StringComparer.Ordinal);
    readonly ConcurrentBag<(double EstimatedSeconds, double ActualSeconds)> queueWaits = [];
    long requests, rateLimited, shed;

    /// <param name="clock">Given, the metrics also keep a per-second timeline from now (answered, shed, overhead).</param>
    public LoadMetrics(TimeProvider? clock = null)
    {
        this.clock = clock;
        startedAt = clock?.GetTimestamp() ?? 0;
    }

    /// <summary>One second of the run: requests answered, shed and failed as they ended in it, and the answered ones' overhead.</summary>
    public sealed class Second
    {
        public long Answered, Shed, Errors;
        public readonly LongConcurrentHistogram Overhead = NewHistogram();
    }

    static LongConcurrentHistogram NewHistogram() => new(1, MaxMicros, 3);

    public long Requests => Interlocked.Read(ref requests);
    public long Errors => errors.Values.Sum();
    public long RateLimited => Interlocked.Read(ref rateLimited);
    public long Shed => Interlocked.Read(ref shed);
    public HistogramBase ShedLatency => shedLatency;
    public IReadOnlyDictionary<int, Second> Timeline => timeline;
    public IReadOnlyDictionary<string, long> ErrorsByKind => errors;
    public IReadOnlyDictionary<string, long> CacheStatuses => cache;
    public IReadOnlyCollection<(double EstimatedSeconds, double ActualSeconds)> QueueWaits => queueWaits;
    public HistogramBase Latency => latency;
    public HistogramBase Overhead => overhead;

    public void Record(TimeSpan elapsed, Sample sample)
    {
        Interlocked.Increment(ref requests);
        var second = clock is null ? null : timeline.GetOrAdd((int)clock.GetElapsedTime(startedAt).TotalSeconds, _ => new Second());
        var micros = Math.Clamp((long)(elapsed.Ticks / 10), 1, MaxMicros);
        if (sample.Error is { } error)
        {
            errors.AddOrUpdate(error, 1, (_, n) => n + 1);
            if (second is not null)
            {
                Interlocked.Increment(ref second.Errors);
            }
            return; // a failure's time says nothing about the platform's speed
        }
        if (sample.ShedRetryAfter is not null)
        {
            Interlocked.Increment(ref shed);
            shedLatency.RecordValue(micros);
            if (second is not null)
            {
                Interlocked.Increment(ref second.Shed);
            }
            return; // how fast a refusal comes back is its own measure
        }
        if (second is not null)
        {
            Interlocked.Increment(ref second.Answered);
        }
        if (sample.RateLimited)
        {
            Interlocked.Increment(ref rateLimited);
        }
        latency.RecordValue(micros);
        Volatile.Read(ref interval).RecordValue(micros);
        if (sample.UpstreamMs is { } upstream)
        {
            var overheadMicros = Math.Clamp(micros - (long)(upstream * 1000), 1, MaxMicros);
            overhead.RecordValue(overheadMicros);
            second?.Overhead.RecordValue(overheadMicros);
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
