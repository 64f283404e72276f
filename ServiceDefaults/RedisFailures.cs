using StackExchange.Redis;

namespace Platform.ServiceDefaults;

/// <summary>Which Redis errors mean "Redis cannot serve right now" (retry later, or degrade), in one place.</summary>
public static class RedisFailures
{
    // Server replies that say the server is up but not able to take the command now (failover, loading,
    // a long script, memory full), as opposed to a mistake in the command.
    static readonly string[] TransientReplies = ["READONLY", "LOADING", "MASTERDOWN", "BUSY", "OOM", "TRYAGAIN", "CLUSTERDOWN"];

    public static bool IsUnavailable(Exception e) =>
        e is RedisConnectionException or RedisTimeoutException
        || e is RedisServerException server && TransientReplies.Any(reply => server.Message.StartsWith(reply, StringComparison.Ordinal));
}
