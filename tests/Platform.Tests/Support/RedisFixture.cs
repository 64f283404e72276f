using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Platform.GarnetHost;
using StackExchange.Redis;

namespace Platform.Tests.Support;

/// <summary>
/// A real Redis-compatible server for one test class. Subclasses pick the engine; Redis-backed test
/// classes come in one subclass per engine, so every such test runs on Redis, on Garnet and (the
/// services' integration tests) on a Redis Cluster.
/// </summary>
public abstract class RedisFixture : IAsyncLifetime
{
    ConnectionMultiplexer? connection;

    public abstract string Engine { get; }

    /// <summary>
    /// The services' connection string: "127.0.0.1:port" (a cluster: every node, comma-separated), or null
    /// when this engine cannot run here (see <see cref="SkipReason"/>).
    /// </summary>
    public string? Endpoint { get; protected set; }

    public string SkipReason { get; protected set; } = "";

    /// <summary>Skips the calling test when the engine is not available on this machine.</summary>
    public void RequireAvailable() => Assert.SkipWhen(Endpoint is null, SkipReason);

    /// <summary>A connection for tests to look at or arrange server state directly.</summary>
    public IConnectionMultiplexer Connection => connection ??= ConnectionMultiplexer.Connect(Endpoint + ",allowAdmin=true");

    public IDatabase Database => Connection.GetDatabase();

    /// <summary>The servers holding data: the one server, or every primary of a cluster.</summary>
    IEnumerable<IServer> Primaries => Connection.GetServers().Where(server => !server.IsReplica);

    /// <summary>Empties the server (on a cluster, every primary).</summary>
    public async Task FlushAsync() => await Task.WhenAll(Primaries.Select(server => server.ExecuteAsync("FLUSHALL")));

    /// <summary>The keys matching <paramref name="pattern"/> (SCAN), on every primary of a cluster.</summary>
    public IReadOnlyList<RedisKey> Keys(string pattern) => Primaries.SelectMany(server => server.Keys(pattern: pattern)).ToList();

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

/// <summary>
/// A Redis Cluster of three primaries (no replicas): three <c>redis-server</c> processes from PATH with
/// cluster mode on, each on its own loopback port and data directory, joined by
/// <c>redis-cli --cluster create</c>. Services connect with every node listed; StackExchange.Redis
/// learns the slot map and sends each command to the primary that owns its key's slot; a script or
/// command whose keys span slots is refused, as in production.
/// </summary>
public sealed class RedisClusterFixture : RedisFixture
{
    const int Nodes = 3;
    readonly List<Process> processes = [];
    string? dataDir;

    public override string Engine => "redis-cluster";

    public override async ValueTask InitializeAsync()
    {
        var cli = ExternalProcess.FindOnPath("redis-cli");
        if (!RedisServerProcess.IsInstalled || cli is null)
        {
            SkipReason = "redis-server and redis-cli are not both on PATH (install them: apt-get install redis-server)";
            return;
        }
        var ports = FreeNodePorts(Nodes);
        var endpoints = Enumerable.Range(0, Nodes).Select(i => $"127.0.0.1:{ports[i]}").ToArray();
        dataDir = Directory.CreateTempSubdirectory("platform-redis-cluster-").FullName;
        try
        {
            for (var i = 0; i < Nodes; i++)
            {
                processes.Add(RedisServerProcess.StartClusterNode(ports[i], Directory.CreateDirectory(Path.Combine(dataDir, ports[i].ToString())).FullName));
            }
            foreach (var endpoint in endpoints)
            {
                await WaitForPingAsync(endpoint);
            }
            await CreateClusterAsync(cli, endpoints);
            await WaitForClusterStateOkAsync(endpoints);
        }
        catch
        {
            await DisposeAsync(); // no node outlives a cluster that never formed
            throw;
        }
        Endpoint = string.Join(',', endpoints);
    }

    /// <summary>
    /// Ports for cluster nodes: each node also listens on its cluster bus port, port + 10000, so both must
    /// be free (and the bus port at most 65535). Held until all are found, so none is handed out twice.
    /// </summary>
    static int[] FreeNodePorts(int count)
    {
        var held = new List<TcpListener>();
        var ports = new List<int>();
        try
        {
            while (ports.Count < count)
            {
                var node = Listen(0);
                held.Add(node);
                var port = ((IPEndPoint)node.LocalEndpoint).Port;
                if (port + 10000 <= IPEndPoint.MaxPort && TryListen(port + 10000) is { } bus)
                {
                    held.Add(bus);
                    ports.Add(port);
                }
            }
            return [.. ports];
        }
        finally
        {
            held.ForEach(listener => listener.Dispose());
        }

        static TcpListener Listen(int port)
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return listener;
        }

        static TcpListener? TryListen(int port)
        {
            try
            {
                return Listen(port);
            }
            catch (SocketException)
            {
                return null;
            }
        }
    }

    /// <summary>Assigns the 16384 slots across the nodes and makes them meet.</summary>
    static async Task CreateClusterAsync(string cli, string[] endpoints)
    {
        using var create = Process.Start(new ProcessStartInfo(cli, ["--cluster", "create", .. endpoints, "--cluster-replicas", "0", "--cluster-yes"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = create.StandardOutput.ReadToEndAsync();
        var stderr = create.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await create.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            create.Kill();
        }
        if (!create.HasExited || create.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed:\n{await stdout}\n{await stderr}");
        }
    }

    /// <summary>Every node must see every slot served before a test may run.</summary>
    static async Task WaitForClusterStateOkAsync(string[] endpoints)
    {
        foreach (var endpoint in endpoints)
        {
            // Its own connection per node, not a cluster-aware one: each node answers for itself.
            using var node = await ConnectionMultiplexer.ConnectAsync(endpoint + ",allowAdmin=true");
            var server = node.GetServer(endpoint);
            for (var attempt = 0; ; attempt++)
            {
                var info = (string?)await server.ExecuteAsync("CLUSTER", "INFO") ?? "";
                if (info.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    break;
                }
                if (attempt == 200)
                {
                    throw new InvalidOperationException($"Cluster node {endpoint} never reached cluster_state:ok:\n{info}");
                }
                await Task.Delay(50);
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        processes.ForEach(RedisServerProcess.Stop);
        processes.Clear();
        if (dataDir is not null && Directory.Exists(dataDir))
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

    /// <summary>A node of a Redis Cluster (no persistence): its node table in <paramref name="dataDir"/>, its log there too.</summary>
    /// <remarks>Its cluster bus listens on port + 10000.</remarks>
    public static Process StartClusterNode(int port, string dataDir) =>
        Process.Start(new ProcessStartInfo("redis-server",
            ["--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dataDir, "--save", "", "--appendonly", "no",
             "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(dataDir, "nodes.conf"),
             "--logfile", Path.Combine(dataDir, "redis.log")]))!;

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
