using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Platform.GarnetHost;

namespace Platform.Bench;

/// <summary>redis-server (when on PATH, unless Garnet is asked for) or Garnet, on a free loopback port.</summary>
public sealed class BenchRedis : IAsyncDisposable
{
    Process? process;
    GarnetServer? garnet;

    public required string Engine { get; init; }
    public required string Endpoint { get; init; }

    public static async Task<BenchRedis> StartAsync(string? engine)
    {
        var port = FreePort();
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "redis-server")));
        BenchRedis redis;
        if (engine != "garnet" && onPath)
        {
            redis = new BenchRedis { Engine = "redis-server", Endpoint = $"127.0.0.1:{port}" };
            redis.process = Process.Start(new ProcessStartInfo("redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
            });
        }
        else
        {
            redis = new BenchRedis { Engine = "garnet", Endpoint = $"127.0.0.1:{port}" };
            redis.garnet = new GarnetServer(GarnetArguments.Build(port));
            redis.garnet.Start();
        }
        await using var probe = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Endpoint + ",abortConnect=false");
        for (var i = 0; i < 50 && !probe.IsConnected; i++)
        {
            await Task.Delay(100);
        }
        return redis;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            process.WaitForExit();
        }
        process?.Dispose();
        garnet?.Dispose();
        return ValueTask.CompletedTask;
    }
}
