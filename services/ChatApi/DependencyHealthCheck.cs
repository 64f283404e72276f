using Grpc.Health.V1;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Platform.ChatApi;

/// <summary>
/// A dependency ChatApi can answer without, asked over grpc.health.v1: when it is down or not serving,
/// ChatApi reports Degraded with what that costs (chat keeps answering), not Unhealthy.
/// </summary>
public sealed class DependencyHealthCheck(GrpcClientFactory clients, string service, string consequence) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var reply = await clients.CreateClient<Health.HealthClient>(service)
                .CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Degraded($"{service} reports {reply.Status}: {consequence}");
        }
        catch (global::Grpc.Core.RpcException e)
        {
            return HealthCheckResult.Degraded($"{service} unreachable ({e.StatusCode}): {consequence}");
        }
    }
}

public static class DependencyHealthChecks
{
    public static void AddDependencyHealthCheck(this IServiceCollection services, string service, string consequence)
    {
        services.AddPlatformGrpcClient<Health.HealthClient>(service, name: service);
        services.AddHealthChecks().Add(new HealthCheckRegistration(service,
            provider => new DependencyHealthCheck(provider.GetRequiredService<GrpcClientFactory>(), service, consequence),
            failureStatus: HealthStatus.Degraded, tags: null));
    }
}
