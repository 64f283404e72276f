using Platform.Bench;

// dotnet run -c Release --project bench/Platform.Bench -- ratelimit|cache [--seconds 5] [--rounds 3] [--concurrency 32] [--engine redis|garnet]
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Platform.Bench ratelimit|cache [--seconds N] [--rounds N] [--concurrency N] [--engine redis|garnet]");
    return 2;
}

await using var redis = await BenchRedis.StartAsync(options.Engine);
Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, engine {redis.Engine}, " +
                  $"{options.Concurrency} concurrent calls, {options.Rounds} interleaved rounds of {options.Duration.TotalSeconds:0} s per scenario (median round shown)");

var results = options.Scenario == "cache"
    ? await CacheBenchmark.RunAsync(redis, options)
    : await RateLimitBenchmark.RunAsync(redis, options);
Report.Print(results);
return 0;
