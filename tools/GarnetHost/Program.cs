using System.Runtime.InteropServices;
using Garnet;

// Usage: GarnetHost [--port N] [--data DIR]; further arguments go to Garnet unchanged.
// GARNET_PORT / GARNET_DATA are read when the flags are absent (the AppHost sets them).
var port = Option("--port") ?? Environment.GetEnvironmentVariable("GARNET_PORT") ?? "6379";
var dataDir = Option("--data") ?? Environment.GetEnvironmentVariable("GARNET_DATA");
var extra = args.Where((a, i) => !IsOurs(i)).ToArray();

List<string> garnetArgs = ["--port", port, "--bind", "127.0.0.1", "--lua", "true"];
if (!string.IsNullOrEmpty(dataDir))
{
    // Append-only file committed on every write, replayed on start: accepted writes survive a restart.
    Directory.CreateDirectory(dataDir);
    garnetArgs.AddRange(["--aof", "true", "--aof-commit-freq", "0", "--recover", "true",
        "--checkpointdir", dataDir,
        // The managed device needs no native libaio, which a fresh machine may lack.
        "--device-type", "RandomAccess"]);
}
garnetArgs.AddRange(extra);

using var server = new GarnetServer(garnetArgs.ToArray());
server.Start();
Console.WriteLine($"Garnet listening on 127.0.0.1:{port} (persistence: {(dataDir is null ? "off" : "AOF in " + dataDir)})");

var stop = new TaskCompletionSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.TrySetResult(); });
await stop.Task;
Console.WriteLine("Garnet stopping");

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

bool IsOurs(int i) =>
    args[i] is "--port" or "--data" || (i > 0 && args[i - 1] is "--port" or "--data");
