namespace Platform.Tests.RateLimit;

/// <summary>The decision of a reference model: what the Lua script must also answer.</summary>
public readonly record struct ModelDecision(bool Allowed, long RetryAfterMicros);

/// <summary>
/// Plain C# statements of each algorithm, written from its definition rather than from the Lua, to
/// check the scripts against step by step. Times are in microseconds.
/// </summary>
public interface IReferenceModel
{
    ModelDecision Decide(long now, long cost);
}

/// <summary>A window opens with the first unit consumed after the previous one closed; it admits `limit` units.</summary>
public sealed class FixedWindowModel(long limit, long window) : IReferenceModel
{
    long windowStart = long.MinValue;
    long used;

    public ModelDecision Decide(long now, long cost)
    {
        var open = windowStart != long.MinValue && now < windowStart + window;
        var start = open ? windowStart : now;
        var usedSoFar = open ? used : 0;
        if (usedSoFar + Math.Max(cost, 1) > limit)
        {
            return new ModelDecision(false, start + window - now);
        }
        if (cost > 0)
        {
            (windowStart, used) = (start, usedSoFar + cost);
        }
        return new ModelDecision(true, 0);
    }
}

/// <summary>
/// A token bucket of `burst` tokens refilled continuously at `limit` per window; a request waits until
/// the bucket holds its cost. Exact integer arithmetic: tokens are counted in 1/window parts, so one
/// microsecond adds `limit` parts.
/// </summary>
public sealed class TokenBucketModel(long limit, long window, long burst) : IReferenceModel
{
    long parts = burst * window;
    long last = long.MinValue;

    public ModelDecision Decide(long now, long cost)
    {
        var available = last == long.MinValue ? parts : Math.Min(burst * window, parts + (now - last) * limit);
        var needed = Math.Max(cost, 1) * window;
        if (available < needed)
        {
            return new ModelDecision(false, (needed - available + limit - 1) / limit);
        }
        (parts, last) = (available - cost * window, now);
        return new ModelDecision(true, 0);
    }
}
