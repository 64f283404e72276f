using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Health;
using StackExchange.Redis;

namespace Platform.ServiceDefaults;

/// <summary>
/// Ready when every Redis primary the client knows answers PING: the one server, or each primary of a
/// Redis Cluster (a primary that does not answer leaves its slots unserved). Degraded while the slowest
/// answers later than Alerts:RedisLatency.
/// </summary>
/// <remarks>
/// Replaces Aspire's Redis check, which on a cluster runs CLUSTER INFO: an admin command, refused on the
/// services' connection (no allowAdmin), so every service would report NOT_SERVING on a healthy cluster.
/// </remarks>
sealed class RedisHealthCheck(IConnectionMultiplexer redis, IOptionsMonitor<AlertOptions> alerts) : IHealthCheck
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
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(primaries.Select(server => server.PingAsync()));
            var slowest = Stopwatch.GetElapsedTime(started);
            var threshold = alerts.CurrentValue.RedisLatency;
            return slowest > threshold
                ? HealthCheckResult.Degraded($"Redis answered PING in {slowest.TotalMilliseconds:0.#} ms (threshold Alerts:RedisLatency = {threshold.TotalMilliseconds:0} ms)")
                : HealthCheckResult.Healthy($"PING {slowest.TotalMilliseconds:0.#} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, e.Message, e);
        }
    }
}
