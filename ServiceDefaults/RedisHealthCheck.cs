using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Platform.ServiceDefaults;

/// <summary>
/// Ready when every Redis primary the client knows answers PING: the one server, or each primary of a
/// Redis Cluster (a primary that does not answer leaves its slots unserved).
/// </summary>
/// <remarks>
/// Replaces Aspire's Redis check, which on a cluster runs CLUSTER INFO: an admin command, refused on the
/// services' connection (no allowAdmin), so every service would report NOT_SERVING on a healthy cluster.
/// </remarks>
sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var primaries = redis.GetServers().Where(server => !server.IsReplica).ToList();
        if (primaries.Count == 0)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "No Redis server known yet.");
        }
        try
        {
            await Task.WhenAll(primaries.Select(server => server.PingAsync()));
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, e.Message, e);
        }
    }
}
