using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.Cache;

/// <summary>
/// Tells every replica when an entry or a namespace changed (Redis pub/sub): replicas drop their L1
/// copies and wake Lookups waiting for that key. Messages are "k\n{sender}\n{namespace}\n{key}" and
/// "n\n{sender}\n{namespace}"; a replica acts on its own changes directly and ignores its own messages,
/// which would otherwise arrive late and drop copies it has just made.
/// </summary>
public sealed partial class CacheBackplane(IConnectionMultiplexer redis, LocalCache local, LeaseWaiters waiters, ILogger<CacheBackplane> logger)
    : BackgroundService
{
    static readonly RedisChannel Channel = RedisChannel.Literal("platform.cache.backplane");
    readonly string sender = Guid.NewGuid().ToString("N");

    public async Task PublishKeyChangedAsync(string ns, string key)
    {
        local.Invalidate(ns, key);
        waiters.Signal(ns, key);
        await PublishAsync($"k\n{sender}\n{ns}\n{key}");
    }

    public async Task PublishNamespaceChangedAsync(string ns)
    {
        local.InvalidateNamespace(ns);
        await PublishAsync($"n\n{sender}\n{ns}");
    }

    async Task PublishAsync(string message)
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(Channel, message);
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            // The change itself is stored; other replicas' copies age out within Cache:L1Ttl.
            LogPublishFailed(e.Message);
        }
    }

    void OnMessage(RedisChannel _, RedisValue message)
    {
        var parts = ((string)message!).Split('\n', 4);
        switch (parts)
        {
            case [_, var from, ..] when from == sender:
                break;
            case ["k", _, var ns, var key]:
                local.Invalidate(ns, key);
                waiters.Signal(ns, key);
                break;
            case ["n", _, var ns]:
                local.InvalidateNamespace(ns);
                break;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Messages sent while this replica was cut off are lost: forget every copy when the link returns.
        redis.ConnectionRestored += (_, _) => local.InvalidateAll();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await redis.GetSubscriber().SubscribeAsync(Channel, OnMessage);
                return;
            }
            catch (Exception e) when (RedisFailures.IsUnavailable(e))
            {
                LogSubscribeFailed(e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache backplane publish failed; other replicas' copies expire within Cache:L1Ttl ({Reason})")]
    partial void LogPublishFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache backplane subscription failed; retrying ({Reason})")]
    partial void LogSubscribeFailed(string reason);
}

/// <summary>
/// Lookups on this replica waiting for another caller's Fill, woken by the backplane. An entry lives only
/// while someone waits on it, so keys that are never filled leave nothing behind.
/// </summary>
public sealed class LeaseWaiters
{
    sealed class Waiting
    {
        public readonly TaskCompletionSource Signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Count;
    }

    readonly Dictionary<(string, string), Waiting> waiting = [];

    /// <summary>
    /// A task completed by the next change of the key. Join before asking Redis, so no signal is missed;
    /// <see cref="Leave"/> when done with it.
    /// </summary>
    public Task Join(string ns, string key)
    {
        lock (waiting)
        {
            if (!waiting.TryGetValue((ns, key), out var entry))
            {
                waiting[(ns, key)] = entry = new Waiting();
            }
            entry.Count++;
            return entry.Signal.Task;
        }
    }

    public void Leave(string ns, string key, Task joined)
    {
        lock (waiting)
        {
            if (waiting.TryGetValue((ns, key), out var entry) && entry.Signal.Task == joined && --entry.Count == 0)
            {
                waiting.Remove((ns, key));
            }
        }
    }

    public void Signal(string ns, string key)
    {
        Waiting? entry;
        lock (waiting)
        {
            waiting.Remove((ns, key), out entry);
        }
        entry?.Signal.TrySetResult();
    }
}
