using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Platform.GarnetHost;
using StackExchange.Redis;

namespace Platform.Tests.Support;

/// <summary>
/// A real Redis-compatible server for one test class. Subclasses pick the engine; Redis-backed test
/// classes come in one subclass per engine, so every such test runs on Redis and on Garnet.
/// </summary>
public abstract class RedisFixture : IAsyncLifetime
{
    ConnectionMultiplexer? connection;

    public abstract string Engine { get; }

    /// <summary>"127.0.0.1:port", or null when this engine cannot run here (see <see cref="SkipReason"/>).</summary>
    public string? Endpoint { get; protected set; }

    public string SkipReason { get; protected set; } = "";

    /// <summary>Skips the calling test when the engine is not available on this machine.</summary>
    public void RequireAvailable() => Assert.SkipWhen(Endpoint is null, SkipReason);

    /// <summary>A connection for tests to look at or arrange server state directly.</summary>
    public IConnectionMultiplexer Connection => connection ??= ConnectionMultiplexer.Connect(Endpoint + ",allowAdmin=true");

    public IDatabase Database => Connection.GetDatabase();

    public async Task FlushAsync() => await Database.ExecuteAsync("FLUSHALL");

    public abstract ValueTask InitializeAsync();

    public virtual ValueTask DisposeAsync()
    {
        connection?.Dispose();
        return ValueTask.CompletedTask;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitForPingAsync(string endpoint)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var probe = await ConnectionMultiplexer.ConnectAsync(endpoint + ",connectTimeout=500");
                await probe.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException)
            {
                await Task.Delay(100);
            }
        }
        throw new InvalidOperationException($"No Redis answered at {endpoint}.");
    }
}

/// <summary><c>redis-server</c> from PATH on its own port and data directory, killed afterwards.</summary>
public sealed class RedisServerFixture : RedisFixture
{
    Process? process;
    string? dataDir;

    public override string Engine => "redis-server";

    public override async ValueTask InitializeAsync()
    {
        if (!RedisServerProcess.IsInstalled)
        {
            SkipReason = "redis-server is not on PATH (install it: apt-get install redis-server)";
            return;
        }
        var port = FreePort();
        dataDir = Directory.CreateTempSubdirectory("platform-redis-").FullName;
        process = RedisServerProcess.Start(port, dataDir);
        Endpoint = $"127.0.0.1:{port}";
        await WaitForPingAsync(Endpoint);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        RedisServerProcess.Stop(process);
        if (dataDir is not null)
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}

/// <summary>Microsoft Garnet hosted inside the test process: always available.</summary>
public sealed class GarnetFixture : RedisFixture
{
    GarnetServer? server;

    public override string Engine => "garnet";

    public override async ValueTask InitializeAsync()
    {
        var port = FreePort();
        server = GarnetProcess.Start(port);
        Endpoint = $"127.0.0.1:{port}";
        await WaitForPingAsync(Endpoint);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        server?.Dispose();
    }
}

public static class RedisServerProcess
{
    public static bool IsInstalled =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, "redis-server")));

    /// <param name="appendOnly">Persist every write to an append-only file in <paramref name="dataDir"/>, as production does.</param>
    public static Process Start(int port, string dataDir, bool appendOnly = false) =>
        Process.Start(new ProcessStartInfo("redis-server",
            ["--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dataDir, "--save", "", "--appendonly", appendOnly ? "yes" : "no"])
        {
            RedirectStandardOutput = true,
        })!;

    public static void Stop(Process? process)
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            process.WaitForExit();
        }
        process?.Dispose();
    }
}

public static class GarnetProcess
{
    public static GarnetServer Start(int port)
    {
        var server = new GarnetServer(GarnetArguments.Build(port));
        server.Start();
        return server;
    }
}
