using Platform.Bench;

// dotnet run -c Release --project bench/Platform.Bench -- ratelimit|cache|queue [--seconds 5] [--rounds 3] [--concurrency 32] [--engine redis|garnet]
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Platform.Bench ratelimit|cache|queue [--seconds N] [--rounds N] [--concurrency N] [--engine redis|garnet]");
    return 2;
}

await using var redis = await BenchRedis.StartAsync(options.Engine);
Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, engine {redis.Engine}, " +
                  $"{options.Concurrency} concurrent calls, {options.Rounds} interleaved rounds of {options.Duration.TotalSeconds:0} s per scenario (median round shown)");

var results = options.Scenario switch
{
    "cache" => await CacheBenchmark.RunAsync(redis, options),
    "queue" => await QueueBenchmark.RunAsync(redis, options),
    _ => await RateLimitBenchmark.RunAsync(redis, options),
};
Report.Print(results);
return 0;
