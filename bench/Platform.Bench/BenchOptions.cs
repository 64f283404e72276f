namespace Platform.Bench;

/// <param name="Duration">Length of one round of one scenario.</param>
/// <param name="Rounds">Interleaved rounds; each scenario reports its median round.</param>
/// <param name="Rate">Requests per second of fixed-rate (open-loop) scenarios.</param>
/// <param name="HeapLimitMiB">Runs the services with this GC heap hard limit (DOTNET_GCHeapHardLimit): do they survive full load in it?</param>
public sealed record BenchOptions(string Scenario, TimeSpan Duration, int Concurrency, string? Engine, int Rounds, double Rate, int? HeapLimitMiB = null)
{
    public static BenchOptions? Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("ratelimit" or "cache" or "queue" or "gateway"))
        {
            return null;
        }
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var seconds = int.Parse(Value("--seconds") ?? "5");
        var rounds = int.Parse(Value("--rounds") ?? "3");
        var concurrency = int.Parse(Value("--concurrency") ?? "32");
        var engine = Value("--engine");
        var rate = double.Parse(Value("--rate") ?? "200", System.Globalization.CultureInfo.InvariantCulture);
        var heapLimit = Value("--heap-limit-mib") is { } mib ? int.Parse(mib) : (int?)null;
        if (seconds < 1 || concurrency < 1 || rounds < 1 || rate <= 0 || heapLimit < 16 || engine is not (null or "redis" or "garnet"))
        {
            return null;
        }
        return new BenchOptions(args[0], TimeSpan.FromSeconds(seconds), concurrency, engine, rounds, rate, heapLimit);
    }
}
