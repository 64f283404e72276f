namespace Platform.LoadTest;

/// <summary>One request of a scenario; the number says which (for picking keys and questions).</summary>
public delegate Task<Sample> Operation(long number, CancellationToken cancellationToken);

/// <summary>The three ways load is offered: at a fixed rate, by N callers in a loop, or by simulated users.</summary>
public static class Drivers
{
    /// <summary>
    /// Starts request i at start + i / rate whether or not earlier requests have answered, and times it
    /// from that moment. A stall of the platform (or of this program) therefore shows in every request it
    /// delayed, instead of hiding the requests that were never sent: coordinated omission is corrected.
    /// </summary>
    public static async Task FixedRateAsync(double perSecond, TimeSpan duration, Operation operation, LoadMetrics metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var total = (long)(perSecond * duration.TotalSeconds);
        var inFlight = new List<Task>();
        for (long i = 0; i < total && !cancellationToken.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds(i / perSecond);
            var wait = due - time.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            var number = i;
            inFlight.Add(Task.Run(async () =>
            {
                var sample = await RunAsync(operation, number, cancellationToken);
                metrics.Record(time.GetElapsedTime(started) - due, sample);
            }, CancellationToken.None));
        }
        await Task.WhenAll(inFlight);
    }

    /// <summary>N callers, each sending its next request when the previous one answers.</summary>
    public static Task ClosedLoopAsync(int concurrency, TimeSpan duration, Operation operation, LoadMetrics metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        return Task.WhenAll(Enumerable.Range(0, concurrency).Select(caller => Task.Run(async () =>
        {
            for (long i = caller; time.GetElapsedTime(started) < duration && !cancellationToken.IsCancellationRequested; i += concurrency)
            {
                var sent = time.GetTimestamp();
                var sample = await RunAsync(operation, i, cancellationToken);
                metrics.Record(time.GetElapsedTime(sent), sample);
            }
        }, CancellationToken.None)));
    }

    /// <summary>
    /// Users who arrive evenly over the ramp-up, then each send a message, wait for the answer, think for
    /// the think time (±50 %), and go again until the run ends. The operation gets user × 1,000,000 + message.
    /// </summary>
    public static Task UsersAsync(int users, TimeSpan rampUp, TimeSpan thinkTime, TimeSpan duration, Operation operation, LoadMetrics metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        return Task.WhenAll(Enumerable.Range(0, users).Select(user => Task.Run(async () =>
        {
            var random = new Random(user);
            await Task.Delay(rampUp * ((double)user / users), time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            for (long message = 0; time.GetElapsedTime(started) < duration && !cancellationToken.IsCancellationRequested; message++)
            {
                var sent = time.GetTimestamp();
                var sample = await RunAsync(operation, user * 1_000_000L + message, cancellationToken);
                metrics.Record(time.GetElapsedTime(sent), sample);
                await Task.Delay(thinkTime * (0.5 + random.NextDouble()), time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }, CancellationToken.None)));
    }

    /// <summary>
    /// A surge: <see cref="LoadOptions.SurgeBaseUsers"/> users arrive over the ramp-up and stay; the rest (up to
    /// <see cref="LoadOptions.Users"/>) arrive over the surge ramp at SurgeAt and leave SurgeFor later. Each user
    /// thinks between messages; a refused one (503 with Retry-After) waits the hint and asks again, as SDKs do.
    /// </summary>
    public static Task SurgeAsync(LoadOptions options, Operation operation, LoadMetrics metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var surgeUsers = options.Users - options.SurgeBaseUsers;
        return Task.WhenAll(Enumerable.Range(0, options.Users).Select(user => Task.Run(async () =>
        {
            var random = new Random(user);
            var (arrive, leave) = user < options.SurgeBaseUsers
                ? (options.RampUp * ((double)user / options.SurgeBaseUsers), options.Duration)
                : (options.SurgeAt + options.SurgeRamp * ((double)(user - options.SurgeBaseUsers) / Math.Max(1, surgeUsers)), options.SurgeAt + options.SurgeFor);
            await Task.Delay(arrive, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            for (long message = 0; time.GetElapsedTime(started) < leave && !cancellationToken.IsCancellationRequested; message++)
            {
                var sent = time.GetTimestamp();
                var sample = await RunAsync(operation, user * 1_000_000L + message, cancellationToken);
                metrics.Record(time.GetElapsedTime(sent), sample);
                var pause = sample.ShedRetryAfter is { } retryAfter
                    ? retryAfter * (0.5 + random.NextDouble())
                    : options.ThinkTime * (0.5 + random.NextDouble());
                await Task.Delay(pause, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }, CancellationToken.None)));
    }

    /// <summary>Runs one request; a failure becomes a sample naming its kind, never an exception.</summary>
    static async Task<Sample> RunAsync(Operation operation, long number, CancellationToken cancellationToken)
    {
        try
        {
            return await operation(number, cancellationToken);
        }
        catch (Grpc.Core.RpcException e)
        {
            return Sample.Failed("gRPC " + e.StatusCode);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Sample.Failed(e.GetType().Name);
        }
    }
}
