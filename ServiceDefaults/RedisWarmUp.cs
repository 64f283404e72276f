using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Platform.ServiceDefaults;

/// <summary>
/// Creates the Redis connection during start-up. When Redis is down this waits at most
/// Redis:ConnectTimeoutMs, then the service starts anyway and the client keeps reconnecting.
/// </summary>
sealed class RedisWarmUp(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        Task.Run(() => services.GetRequiredService<IConnectionMultiplexer>(), cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
