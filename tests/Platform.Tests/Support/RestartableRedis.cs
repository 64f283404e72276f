using System.Diagnostics;
using Garnet;
using StackExchange.Redis;

namespace Platform.Tests.Support;

/// <summary>
/// A Redis-compatible server a test stops and starts again on the same port and data directory: redis-server
/// (its own process) or Garnet (in the test process), with the append-only file on as deployed, or off.
/// </summary>
public abstract class RestartableRedis : IDisposable
{
    protected RestartableRedis()
    {
        Port = RedisFixture.FreePort();
        DataDir = Directory.CreateTempSubdirectory("platform-restartable-").FullName;
    }

    public int Port { get; }
    protected string DataDir { get; }
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>redis-server when on PATH (skips the test otherwise), else Garnet.</summary>
    public static RestartableRedis Create(string engine, bool appendOnly)
    {
        if (engine == "redis-server")
        {
            Assert.SkipUnless(RedisServerProcess.IsInstalled, "redis-server is not on PATH (install it: apt-get install redis-server)");
            return new RedisServer(appendOnly);
        }
        return new GarnetInProcess(appendOnly);
    }

    public async Task StartAsync()
    {
        Launch();
        await RedisFixture.WaitForPingAsync(Endpoint);
    }

    /// <summary>Stops the server: <paramref name="crash"/> kills it (SIGKILL for redis-server), otherwise it shuts down cleanly.</summary>
    public abstract Task StopAsync(bool crash);

    protected abstract void Launch();

    public virtual void Dispose()
    {
        StopAsync(crash: true).GetAwaiter().GetResult();
        Directory.Delete(DataDir, recursive: true);
        GC.SuppressFinalize(this);
    }

    sealed class RedisServer(bool appendOnly) : RestartableRedis
    {
        Process? process;

        protected override void Launch() => process = RedisServerProcess.Start(Port, DataDir, appendOnly);

        public override async Task StopAsync(bool crash)
        {
            if (process is null)
            {
                return;
            }
            if (!crash && !process.HasExited)
            {
                // SHUTDOWN writes the append-only file out and exits, as a clean restart does.
                using var admin = await ConnectionMultiplexer.ConnectAsync(Endpoint + ",allowAdmin=true");
                await Record.ExceptionAsync(() => admin.GetServer(Endpoint).ExecuteAsync("SHUTDOWN"));
                await process.WaitForExitAsync();
            }
            RedisServerProcess.Stop(process);
            process = null;
        }
    }

    sealed class GarnetInProcess(bool appendOnly) : RestartableRedis
    {
        GarnetServer? server;

        protected override void Launch()
        {
            server = new GarnetServer(Platform.GarnetHost.GarnetArguments.Build(Port, appendOnly ? DataDir : null));
            server.Start();
        }

        public override Task StopAsync(bool crash)
        {
            server?.Dispose();
            server = null;
            return Task.CompletedTask;
        }
    }
}
