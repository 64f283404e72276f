using System.Diagnostics;
using Grpc.Net.Client;
using Platform.Diagnostics.V1;

namespace Platform.Bench;

/// <summary>A Platform service started from its build output as its own process, like a deployment.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    readonly Process process;

    ServiceProcess(Process process, Uri address)
    {
        this.process = process;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>When set, every service started runs with this GC heap hard limit (DOTNET_GCHeapHardLimit).</summary>
    public static int? HeapLimitMiB { get; set; }

    /// <summary>The one credential every benchmarked service accepts (all roles); benchmarks pay for authentication like real callers.</summary>
    const string ApiKey = "bench-key-0123456789abcdef";

    /// <summary>A channel to this service that sends the benchmark's key.</summary>
    public GrpcChannel Channel() => ChannelTo(Address);

    static GrpcChannel ChannelTo(Uri address) => PlatformChannel.ForAddress(address, ApiKey);

    /// <summary>The folder holding Platform.sln, found from this program's build output.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
            {
                dir = dir.Parent;
            }
            return dir?.FullName ?? throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <param name="address">Where the service answers gRPC (grpc.health.v1 tells when it is up); a free port when null.</param>
    public static async Task<ServiceProcess> StartAsync(string name, string redisEndpoint, IReadOnlyDictionary<string, string> settings, Uri? address = null)
    {
        // bench/Platform.Bench/bin/<Configuration>/net10.0 → services/<name>/bin/<Configuration>/net10.0
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var (framework, configuration) = (output.Name, output.Parent!.Name);
        var serviceDir = Path.Combine(RepositoryRoot, "services", name, "bin", configuration, framework);
        address ??= new Uri($"http://127.0.0.1:{BenchRedis.FreePort()}");

        var start = new ProcessStartInfo("dotnet", [Path.Combine(serviceDir, name + ".dll")])
        {
            WorkingDirectory = serviceDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__redis"] = redisEndpoint;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        if (HeapLimitMiB is { } mib)
        {
            start.Environment["DOTNET_GCHeapHardLimit"] = ((long)mib * 1024 * 1024).ToString("X", System.Globalization.CultureInfo.InvariantCulture);
        }
        start.Environment["Auth__Credentials__bench__Key"] = ApiKey;
        start.Environment["Platform__ApiKey"] = ApiKey;
        foreach (var (role, i) in new[] { "user", "admin", "worker" }.Select((role, i) => (role, i)))
        {
            start.Environment[$"Auth__Credentials__bench__Roles__{i}"] = role;
        }
        if (!settings.Keys.Any(key => key.StartsWith("Kestrel__Endpoints__", StringComparison.Ordinal)))
        {
            // RateLimit, Cache, AudioQueue: gRPC on their "http" endpoint, JSON (HTTP/1.1) on "json".
            start.Environment["Kestrel__Endpoints__http__Url"] = address.ToString();
            start.Environment["Kestrel__Endpoints__json__Url"] = $"http://127.0.0.1:{BenchRedis.FreePort()}";
        }
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }
        var service = new ServiceProcess(Process.Start(start)!, address);
        service.process.OutputDataReceived += (_, _) => { };
        service.process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{name}] {e.Data}"); };
        service.process.BeginOutputReadLine();
        service.process.BeginErrorReadLine();

        using var channel = ChannelTo(address);
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(1));
                return service;
            }
            catch (Grpc.Core.RpcException) when (attempt < 100 && !service.process.HasExited)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>The service's runtime counters (Diagnostics.GetScalingInfo): allocations and GC pauses since it started.</summary>
    public async Task<RuntimeStats> RuntimeAsync()
    {
        using var channel = Channel();
        return (await new Diagnostics.V1.Diagnostics.DiagnosticsClient(channel).GetScalingInfoAsync(new GetScalingInfoRequest())).Runtime;
    }

    /// <summary>Samples the process's resident set every 50 ms until disposed; <see cref="RssSampler.PeakBytes"/> is the most seen.</summary>
    public RssSampler SampleRss() => new(process);

    public sealed class RssSampler : IDisposable
    {
        readonly Timer timer;
        long peak;

        internal RssSampler(Process process)
        {
            timer = new Timer(_ =>
            {
                process.Refresh();
                var rss = process.HasExited ? 0 : process.WorkingSet64;
                if (rss > Interlocked.Read(ref peak))
                {
                    Interlocked.Exchange(ref peak, rss);
                }
            }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(50));
        }

        public long PeakBytes => Interlocked.Read(ref peak);

        public void Dispose() => timer.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
