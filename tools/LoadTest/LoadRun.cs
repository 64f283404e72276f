using Spectre.Console;

namespace Platform.LoadTest;

/// <summary>Runs the baselines (when asked) and the scenario, with a live line of progress, and builds the report.</summary>
public static class LoadRun
{
    public static async Task<LoadReport> RunAsync(LoadOptions options, IAnsiConsole console, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var memory = new ProcessMemory(options.Processes);
        var baselines = new List<PhaseReport>();
        if (options.Baseline)
        {
            using var scenarios = new Scenarios(options, new LoadMetrics());
            baselines.Add(await PhaseAsync("no-op gRPC (Diagnostics.Ping)", options, scenarios.Baseline(options.Scenario), console, memory: null, time, cancellationToken));
            if (await scenarios.RawRedisAsync() is { } redis)
            {
                baselines.Add(await PhaseAsync("raw Redis (PING)", options, redis, console, memory: null, time, cancellationToken));
            }
        }
        var metrics = new LoadMetrics(options.IsUserScenario ? time : null);
        using (var scenarios = new Scenarios(options, metrics))
        {
            var result = await PhaseAsync(options.Scenario, options, scenarios.For(options.Scenario), console, memory, time, cancellationToken, metrics);
            return new LoadReport(options.Scenario, started, Describe(options), result, baselines, memory.PeakMiB,
                Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024),
                options.IsUserScenario ? TimelineReport.From(metrics, options) : null);
        }
    }

    static async Task<PhaseReport> PhaseAsync(
        string name, LoadOptions options, Operation operation, IAnsiConsole console, ProcessMemory? memory, TimeProvider time,
        CancellationToken cancellationToken, LoadMetrics? metrics = null)
    {
        metrics ??= new LoadMetrics();
        var begun = time.GetTimestamp();
        var load = options switch
        {
            { Scenario: "surge" } => Drivers.SurgeAsync(options, operation, metrics, time, cancellationToken),
            { IsUserScenario: true } => Drivers.UsersAsync(options.Users, options.RampUp, options.ThinkTime, options.Duration, operation, metrics, time, cancellationToken),
            { Rate: { } rate } => Drivers.FixedRateAsync(rate, options.Duration, operation, metrics, time, cancellationToken),
            _ => Drivers.ClosedLoopAsync(options.Concurrency, options.Duration, operation, metrics, time, cancellationToken),
        };
        var lastRequests = 0L;
        while (!load.IsCompleted)
        {
            await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(1), time, CancellationToken.None));
            memory?.Sample();
            var requests = metrics.Requests;
            var line = $"{name}: {time.GetElapsedTime(begun).TotalSeconds,5:0}s  requests {requests,9:N0}  rate {requests - lastRequests,7:N0}/s  " +
                       $"errors {metrics.Errors:N0}  429 {metrics.RateLimited:N0}  shed {metrics.Shed:N0}  p99 {metrics.TakeIntervalP99Ms(),8:0.0} ms";
            lastRequests = requests;
            if (options.Live)
            {
                console.MarkupLine(Markup.Escape(line));
            }
        }
        await load;
        return PhaseReport.From(name, metrics, time.GetElapsedTime(begun));
    }

    static string Describe(LoadOptions o) => o switch
    {
        { Scenario: "surge" } => $"{o.SurgeBaseUsers:N0} users (arriving over {o.RampUp.TotalSeconds:0} s), {o.Users:N0} during a surge at {o.SurgeAt.TotalSeconds:0} s " +
                                 $"for {o.SurgeFor.TotalSeconds:0} s (arriving over {o.SurgeRamp.TotalSeconds:0} s), one connection each, think time {o.ThinkTime.TotalSeconds:0.#} s ±50 %, " +
                                 $"refused users retry after Retry-After, {o.Duration.TotalSeconds:0} s, {o.PopularShare:P0} popular questions, {o.StreamShare:P0} streamed",
        { IsUserScenario: true } => $"{o.Users:N0} users, think time {o.ThinkTime.TotalSeconds:0.#} s ±50 %, ramp-up {o.RampUp.TotalSeconds:0} s, {o.Duration.TotalSeconds:0} s" +
                                    (o.Scenario == "voice" ? "" : $", {o.PopularShare:P0} popular questions, {o.StreamShare:P0} streamed") +
                                    (o.Scenario == "mixed" ? $", {o.VoiceShare:P0} voice users" : ""),
        { Rate: { } rate } => $"fixed rate {rate:N0}/s for {o.Duration.TotalSeconds:0} s (latency from each request's scheduled start)",
        _ => $"closed loop, {o.Concurrency} callers, {o.Duration.TotalSeconds:0} s",
    };
}
