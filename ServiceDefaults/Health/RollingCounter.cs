namespace Platform.ServiceDefaults.Health;

/// <summary>
/// Counts events over the last <c>window</c>, in one-second buckets, cheaply enough to count every request
/// (a lock only when a bucket turns over to a new second).
/// </summary>
public sealed class RollingCounter(TimeProvider time, Func<TimeSpan> window)
{
    const int MaxBuckets = 3600;
    readonly long[] counts = new long[MaxBuckets];
    readonly long[] seconds = new long[MaxBuckets];
    readonly Lock turnover = new();

    public void Add(long n = 1)
    {
        var now = Now();
        var i = (int)(now % MaxBuckets);
        if (Volatile.Read(ref seconds[i]) != now)
        {
            lock (turnover)
            {
                if (seconds[i] != now)
                {
                    counts[i] = 0;
                    Volatile.Write(ref seconds[i], now);
                }
            }
        }
        Interlocked.Add(ref counts[i], n);
    }

    /// <summary>Events in the window up to now.</summary>
    public long Total
    {
        get
        {
            var now = Now();
            var span = Math.Clamp((long)Math.Ceiling(window().TotalSeconds), 1, MaxBuckets);
            long total = 0;
            for (var s = now - span + 1; s <= now; s++)
            {
                var i = (int)(s % MaxBuckets);
                if (Volatile.Read(ref seconds[i]) == s)
                {
                    total += Interlocked.Read(ref counts[i]);
                }
            }
            return total;
        }
    }

    long Now() => time.GetUtcNow().ToUnixTimeSeconds();
}
