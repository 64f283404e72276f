using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Platform.AppHost;

/// <summary>
/// Health over grpc.health.v1. The gRPC services listen on HTTP/2-only cleartext endpoints, which an
/// HTTP/1.1 probe (Aspire's HTTP health check) cannot reach, so the dashboard asks over gRPC instead.
/// </summary>
sealed class GrpcHealthCheck(EndpointReference endpoint) : IHealthCheck, IDisposable
{
    GrpcChannel? channel;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            channel ??= GrpcChannel.ForAddress(endpoint.Url);
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(),
                deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: cancellationToken);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"grpc.health.v1 reports {reply.Status}");
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or HttpRequestException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }

    public void Dispose() => channel?.Dispose();
}

public static class GrpcHealthCheckExtensions
{
    /// <summary>Marks the resource healthy only when its grpc.health.v1 service answers SERVING.</summary>
    public static IResourceBuilder<ProjectResource> WithGrpcHealthCheck(this IResourceBuilder<ProjectResource> builder, string endpointName = "http")
    {
        var endpoint = builder.GetEndpoint(endpointName);
        var key = $"{builder.Resource.Name}-grpc-health";
        var check = new GrpcHealthCheck(endpoint);
        builder.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(key, _ => check, failureStatus: null, tags: null));
        return builder.WithHealthCheck(key);
    }
}
