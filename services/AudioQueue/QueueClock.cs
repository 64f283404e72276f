using StackExchange.Redis;

namespace Platform.AudioQueue;

/// <summary>
/// The clock the queue's scripts run on. In production it is the Redis server's clock, one clock for
/// every replica (leases, backoffs and aging never depend on a replica's drift); tests pass a fake.
/// </summary>
public sealed class QueueClock(TimeProvider? fake = null)
{
    /// <summary>The script argument: microseconds since the epoch, or empty for the server's clock.</summary>
    public RedisValue ScriptArgument() =>
        fake is null ? RedisValue.EmptyString : (long)((fake.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10);

    /// <summary>An approximation of the queue's time for reads that need one (stats).</summary>
    public DateTimeOffset Now => (fake ?? TimeProvider.System).GetUtcNow();
}
