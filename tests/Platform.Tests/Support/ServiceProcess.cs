using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Platform.Tests.Support;

/// <summary>
/// A Platform service started from its build output as its own process, configured like a deployment
/// (environment variables, Production), so a test can kill it (SIGKILL), stop it (SIGTERM) and read its exit code.
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    readonly Process process;
    readonly ConcurrentQueue<string> output = new();

    ServiceProcess(string name, Process process, Uri grpcAddress, Uri httpAddress)
    {
        Name = name;
        this.process = process;
        GrpcAddress = grpcAddress;
        HttpAddress = httpAddress;
    }

    public string Name { get; }

    /// <summary>Where it answers gRPC (HTTP/2).</summary>
    public Uri GrpcAddress { get; }

    /// <summary>Its HTTP/1.1 endpoint: JSON for RateLimit, Cache and AudioQueue; the OpenAI-compatible API for ChatApi.</summary>
    public Uri HttpAddress { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>What it printed (stdout and stderr), for failure messages.</summary>
    public string Output => string.Join('\n', output);

    /// <summary>A channel to its gRPC endpoint sending the all-roles test key.</summary>
    public GrpcChannel Channel() => TestCredentials.Channel(GrpcAddress, TestCredentials.Tests);

    /// <param name="name">The service project: RateLimit, Cache, AudioQueue or ChatApi.</param>
    /// <param name="settings">Configuration keys (Section:Key, as in appsettings.json), passed as environment variables.</param>
    public static async Task<ServiceProcess> StartAsync(string name, string redisEndpoint, IReadOnlyDictionary<string, string?>? settings = null)
    {
        // tests/Platform.Tests/bin/<Configuration>/<framework> → services/<name>/bin/<Configuration>/<framework>
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var serviceDir = Path.Combine(ExternalProcess.RepoRoot, "services", name, "bin", output.Parent!.Name, output.Name);
        var grpc = new Uri($"http://127.0.0.1:{RedisFixture.FreePort()}");
        var http = new Uri($"http://127.0.0.1:{RedisFixture.FreePort()}");

        var start = new ProcessStartInfo("dotnet", [Path.Combine(serviceDir, name + ".dll")])
        {
            WorkingDirectory = serviceDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ConnectionStrings:redis"] = redisEndpoint,
            ["Redis:TimeoutMs"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
            // Production otherwise, but these tests measure behaviour, not a cold start: no start-up warm-up.
            ["WarmUp:Enabled"] = "false",
            // Nor load shedding: the machine is busy with the whole suite, and these tests send bursts on purpose.
            ["Admission:Enabled"] = "false",
            // "Application started" / "Application is shutting down...": tests wait for them.
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            [Microsoft.Extensions.Hosting.Extensions.PlatformApiKeySetting] = TestCredentials.Tests.Key,
            // ChatApi names its endpoints "http" (HTTP/1.1) and "grpc"; the others "http" (gRPC) and "json".
            ["Kestrel:Endpoints:http:Url"] = (name == "ChatApi" ? http : grpc).ToString(),
            [name == "ChatApi" ? "Kestrel:Endpoints:grpc:Url" : "Kestrel:Endpoints:json:Url"] = (name == "ChatApi" ? grpc : http).ToString(),
        };
        foreach (var (key, value) in TestCredentials.Settings(TestCredentials.Tests))
        {
            environment[key] = value;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key.Replace(":", "__")] = value;
        }

        var service = new ServiceProcess(name, Process.Start(start) ?? throw new InvalidOperationException("Could not start " + name), grpc, http);
        service.process.OutputDataReceived += (_, e) => service.Record(e.Data);
        service.process.ErrorDataReceived += (_, e) => service.Record(e.Data);
        service.process.BeginOutputReadLine();
        service.process.BeginErrorReadLine();
        await service.WaitUntilServingAsync();
        return service;
    }

    void Record(string? line)
    {
        if (line is null)
        {
            return;
        }
        output.Enqueue(line);
        while (output.Count > 500 && output.TryDequeue(out _))
        {
        }
    }

    /// <summary>Up once its gRPC health service answers (whatever it says about Redis).</summary>
    async Task WaitUntilServingAsync()
    {
        using var channel = GrpcChannel.ForAddress(GrpcAddress);
        var health = new Health.HealthClient(channel);
        for (var attempt = 0; attempt < 150; attempt++)
        {
            if (process.HasExited)
            {
                break;
            }
            try
            {
                await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                return;
            }
            catch (Grpc.Core.RpcException)
            {
                await Task.Delay(100);
            }
        }
        Kill();
        throw new InvalidOperationException($"{Name} did not start serving:\n{Output}");
    }

    /// <summary>Waits (at most 20 s) for a line of its log containing <paramref name="text"/>.</summary>
    public Task<bool> PrintedAsync(string text) => Eventually.TrueAsync(() => Task.FromResult(output.Any(line => line.Contains(text, StringComparison.Ordinal))));

    /// <summary>SIGKILL: the process dies at once, with nothing cleaned up (a crash, an OOM kill, a lost node).</summary>
    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    /// <summary>SIGTERM: what Kubernetes, systemd and docker stop send; the service should drain and exit 0.</summary>
    public void Terminate()
    {
        if (kill(process.Id, Sigterm) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>The exit code, once the process has ended (at most 60 s).</summary>
    public async Task<int> ExitCodeAsync()
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    const int Sigterm = 15;

    // DllImport, not LibraryImport: that one needs AllowUnsafeBlocks for its generated stub.
    [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054
    static extern int kill(int pid, int signal);
#pragma warning restore SYSLIB1054

    bool disposed;

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        Kill();
        process.Dispose();
    }
}
