using StackExchange.Redis;

namespace Platform.RateLimit;

/// <summary>
/// Tells every RateLimit replica about a Reset (Redis pub/sub), so none keeps answering a reset key from
/// its over-limit cache. A replica that misses the message (Redis briefly away) forgets the entry when it
/// runs out, as before.
/// </summary>
public sealed class OverLimitResets(IConnectionMultiplexer redis, OverLimitCache overLimit) : IHostedService
{
    static readonly RedisChannel Channel = RedisChannel.Literal("ratelimit:resets");

    /// <summary>Policy names cannot contain a line break, so the first one separates the policy from the key.</summary>
    public Task PublishAsync(string policyName, string key) =>
        redis.GetSubscriber().PublishAsync(Channel, policyName + "\n" + key);

    public Task StartAsync(CancellationToken cancellationToken) =>
        redis.GetSubscriber().SubscribeAsync(Channel, (_, message) =>
        {
            var text = (string?)message ?? "";
            var split = text.IndexOf('\n');
            if (split > 0)
            {
                overLimit.Forget(text[..split], text[(split + 1)..]);
            }
        });

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().UnsubscribeAsync(Channel);
        }
        catch (Exception e) when (e is RedisException or ObjectDisposedException)
        {
            // The connection is closing (or closed) with the process: the subscription ends with it, and shutdown must go on.
        }
    }
}
