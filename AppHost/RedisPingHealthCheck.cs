using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Platform.AppHost;

/// <summary>
/// Healthy once the local Redis engine answers PING with the platform's password. Services wait for it
/// (WaitFor), so none starts before Redis can serve. The connection string, password included, is resolved
/// only when the first check runs, as the password parameter is.
/// </summary>
sealed class RedisPingHealthCheck(IResourceWithConnectionString connection) : IHealthCheck, IDisposable
{
    ConnectionMultiplexer? redis;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            redis ??= await ConnectionMultiplexer.ConnectAsync(
                $"{await connection.GetConnectionStringAsync(cancellationToken)},abortConnect=false,connectTimeout=2000");
            await redis.GetDatabase().PingAsync();
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }

    public void Dispose() => redis?.Dispose();
}
