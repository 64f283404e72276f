using System.Runtime.InteropServices;
using Garnet;
using Platform.GarnetHost;

// Usage: GarnetHost [--port N] [--data DIR]; further arguments go to Garnet unchanged.
// GARNET_PORT / GARNET_DATA are read when the flags are absent (the AppHost sets them), and GARNET_PASSWORD,
// when set, makes clients AUTH with it (an environment variable, so it is not in the process list).
var port = int.Parse(Option("--port") ?? Environment.GetEnvironmentVariable("GARNET_PORT") ?? "6379");
var dataDir = Option("--data") ?? Environment.GetEnvironmentVariable("GARNET_DATA");
if (!string.IsNullOrEmpty(dataDir))
{
    Directory.CreateDirectory(dataDir);
}
var extra = args.Where((_, i) => !IsOurs(i));
if (Environment.GetEnvironmentVariable("GARNET_PASSWORD") is { Length: > 0 } password)
{
    extra = extra.Concat(["--auth", "Password", "--password", password]);
}

using var server = new GarnetServer(GarnetArguments.Build(port, dataDir, extra));
server.Start();
Console.WriteLine($"Garnet listening on 127.0.0.1:{port} (persistence: {(string.IsNullOrEmpty(dataDir) ? "off" : "AOF in " + dataDir)})");

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
