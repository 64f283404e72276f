namespace Platform.GarnetHost;

/// <summary>The Garnet settings the platform relies on, shared by this host and the test fixtures.</summary>
public static class GarnetArguments
{
    public static string[] Build(int port, string? dataDir = null, IEnumerable<string>? extra = null)
    {
        List<string> args =
        [
            "--port", port.ToString(), "--bind", "127.0.0.1", "--lua", "true",
            // Without it Garnet runs scripts without locking their keys: concurrent scripts interleave
            // and a rate limit can let an extra request through. Redis runs every script atomically.
            "--lua-transaction-mode", "true",
        ];
        if (!string.IsNullOrEmpty(dataDir))
        {
            // Append-only file committed on every write, replayed on start: accepted writes survive a restart.
            // The managed device needs no native libaio, which a fresh machine may lack.
            args.AddRange(["--aof", "true", "--aof-commit-freq", "0", "--recover", "true",
                "--checkpointdir", dataDir, "--device-type", "RandomAccess"]);
        }
        args.AddRange(extra ?? []);
        return [.. args];
    }
}
