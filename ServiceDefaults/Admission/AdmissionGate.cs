namespace Platform.ServiceDefaults.Admission;

/// <summary>
/// One route class's door: at most <see cref="Limit"/> requests in flight. When every slot is taken, up to
/// the queue limit wait, first come first served, for at most their wait budget; the rest are refused at
/// once. Admitting a request while slots are free costs two interlocked operations and no allocation.
/// </summary>
/// <remarks>
/// System.Threading.RateLimiting's ConcurrencyLimiter does the counting, but allocates a lease per request
/// and has no way to bound a wait by time or to move its limit; both are what this class is for.
/// </remarks>
public sealed class AdmissionGate(string name, TimeProvider time)
{
    /// <summary>A queue that has not emptied for this long is standing: new waiters get a tenth of the wait (CoDel).</summary>
    static readonly TimeSpan StandingAfter = TimeSpan.FromMilliseconds(100);

    sealed class Waiter() : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

    readonly Lock sync = new();
    readonly Queue<Waiter> waiters = new();
    int inFlight, limit = int.MaxValue, queued, saturatedProbes;
    long waitingSince, shed;

    public string Name => name;
    public int Limit => Volatile.Read(ref limit);
    public int InFlight => Volatile.Read(ref inFlight);
    public int Queued => Volatile.Read(ref queued);
    public long Shed => Interlocked.Read(ref shed);
    public int Floor { get; private set; }
    public int Ceiling { get; private set; }
    public int QueueLimit { get; private set; }
    public TimeSpan QueueWait { get; private set; }

    /// <summary>Applies (new) settings; the limit starts at the ceiling and stays within the new bounds.</summary>
    public void Configure(int floor, int ceiling, int queueLimit, TimeSpan queueWait)
    {
        (Floor, Ceiling, QueueLimit, QueueWait) = (floor, ceiling, queueLimit, queueWait);
        Volatile.Write(ref limit, Math.Clamp(limit, floor, ceiling));
        Pump();
    }

    /// <summary>Takes a slot if one is free and nobody is waiting for one.</summary>
    public bool TryEnter()
    {
        if (Volatile.Read(ref queued) > 0)
        {
            return false;
        }
        var current = Volatile.Read(ref inFlight);
        while (current < Volatile.Read(ref limit))
        {
            var seen = Interlocked.CompareExchange(ref inFlight, current + 1, current);
            if (seen == current)
            {
                return true;
            }
            current = seen;
        }
        return false;
    }

    /// <summary>How long a new waiter may wait: the class's wait, a tenth of it under a standing queue, never past the caller's deadline.</summary>
    public TimeSpan WaitBudget(TimeSpan? callerLeft)
    {
        var wait = Volatile.Read(ref queued) > 0 && time.GetElapsedTime(Interlocked.Read(ref waitingSince)) > StandingAfter ? QueueWait / 10 : QueueWait;
        return callerLeft is { } left && left < wait ? left : wait;
    }

    /// <summary>Waits for a slot at most <paramref name="wait"/>.</summary>
    /// <returns>True with a slot; false when the queue is full, the wait ran out, or the caller left.</returns>
    public async Task<bool> WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero)
        {
            return false;
        }
        var waiter = new Waiter();
        lock (sync)
        {
            if (Volatile.Read(ref queued) >= QueueLimit)
            {
                return false;
            }
            waiters.Enqueue(waiter);
            if (Interlocked.Increment(ref queued) == 1)
            {
                Interlocked.Exchange(ref waitingSince, time.GetTimestamp());
            }
        }
        Pump(); // a slot may have freed meanwhile: Exit reads the queue only after releasing its slot

        using var timeout = new CancellationTokenSource(wait, time);
        using var leave = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        await using (leave.Token.Register(static state => GiveUp(((AdmissionGate, Waiter))state!), (this, waiter)))
        {
            return await waiter.Task;
        }
    }

    /// <summary>Gives back a slot: to the longest waiter, if any.</summary>
    public void Exit()
    {
        Interlocked.Decrement(ref inFlight);
        if (Volatile.Read(ref queued) > 0)
        {
            Pump();
        }
    }

    /// <summary>Counts a refusal.</summary>
    public void Refused() => Interlocked.Increment(ref shed);

    /// <summary>
    /// AIMD on saturation: while the process is saturated (two probes in a row), the limit drops to 90 % of
    /// what is in flight, down to the floor; while it keeps up and the limit is what holds requests back,
    /// the limit grows by an eighth per probe, up to the ceiling (from floor to ceiling within seconds).
    /// </summary>
    public void Adapt(bool saturated)
    {
        var current = Volatile.Read(ref limit);
        int next;
        if (saturated)
        {
            next = ++saturatedProbes < 2 ? current : Math.Max(Floor, (int)(Math.Min(current, InFlight) * 0.9));
        }
        else
        {
            saturatedProbes = 0;
            next = InFlight + Queued >= current * 0.9 ? Math.Min(Ceiling, current + Math.Max(1, current / 8)) : current;
        }
        if (next != current)
        {
            Volatile.Write(ref limit, next);
            if (next > current)
            {
                Pump();
            }
        }
    }

    /// <summary>A waiter's wait ran out or its caller left: it leaves the count now, and the queue when Pump meets it.</summary>
    static void GiveUp((AdmissionGate Gate, Waiter Waiter) state)
    {
        if (state.Waiter.TrySetResult(false))
        {
            Interlocked.Decrement(ref state.Gate.queued);
        }
    }

    /// <summary>Hands free slots to waiters, oldest first (a waiter that gave up is skipped).</summary>
    void Pump()
    {
        lock (sync)
        {
            while (waiters.Count > 0 && Volatile.Read(ref inFlight) < Volatile.Read(ref limit))
            {
                var waiter = waiters.Dequeue();
                Interlocked.Increment(ref inFlight);
                if (waiter.TrySetResult(true))
                {
                    Interlocked.Decrement(ref queued);
                }
                else
                {
                    Interlocked.Decrement(ref inFlight); // it gave up; its place in the count is already gone
                }
            }
        }
    }
}
