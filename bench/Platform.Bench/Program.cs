using Platform.Bench;

// dotnet run -c Release --project bench/Platform.Bench -- ratelimit|cache|queue|gateway [--seconds 5] [--rounds 3] [--concurrency 32] [--rate 200] [--engine redis|garnet] [--heap-limit-mib 192]
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Platform.Bench ratelimit|cache|queue|gateway [--seconds N] [--rounds N] [--concurrency N] [--rate N] [--engine redis|garnet] [--heap-limit-mib N]");
    return 2;
}

await using var redis = await BenchRedis.StartAsync(options.Engine);
ServiceProcess.HeapLimitMiB = options.HeapLimitMiB;
Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, engine {redis.Engine}" +
                  (options.HeapLimitMiB is { } limit ? $", services limited to a {limit} MiB GC heap" : ""));

if (options.Scenario == "gateway")
{
    await GatewayBenchmark.RunAsync(redis, options); // fixed rate: its own report
    return 0;
}
Console.WriteLine($"{options.Concurrency} concurrent calls, {options.Rounds} interleaved rounds of {options.Duration.TotalSeconds:0} s per scenario (median round shown)");
var results = options.Scenario switch
{
    "cache" => await CacheBenchmark.RunAsync(redis, options),
    "queue" => await QueueBenchmark.RunAsync(redis, options),
    _ => await RateLimitBenchmark.RunAsync(redis, options),
};
Report.Print(results);
return 0;
