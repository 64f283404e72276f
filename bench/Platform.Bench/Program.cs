using Platform.Bench;

// dotnet run -c Release --project bench/Platform.Bench -- ratelimit [--seconds 10] [--concurrency 32] [--engine redis|garnet]
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Platform.Bench ratelimit [--seconds N] [--concurrency N] [--engine redis|garnet]");
    return 2;
}

await using var redis = await BenchRedis.StartAsync(options.Engine);
Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, engine {redis.Engine}, " +
                  $"{options.Concurrency} concurrent calls, {options.Duration.TotalSeconds:0} s per scenario");

var results = await RateLimitBenchmark.RunAsync(redis, options);
Report.Print(results);
return 0;
