using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Platform.AppHost;

/// <summary>
/// A service's health as the dashboard shows it: its JSON /health over HTTP/1.1, so a Degraded service (an
/// alert threshold crossed, a dependency down) shows as Degraded with the reasons, not only Healthy or not.
/// (grpc.health.v1 can only say SERVING or NOT_SERVING.)
/// </summary>
sealed class ServiceHealthCheck(EndpointReference endpoint) : IHealthCheck, IDisposable
{
    readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(3) };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(new Uri(endpoint.Url), "/health"), cancellationToken);
            var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement;
            var reasons = string.Join("; ", report.GetProperty("checks").EnumerateObject()
                .Where(check => check.Value.GetProperty("status").GetString() != nameof(HealthStatus.Healthy))
                .Select(check => $"{check.Name}: {check.Value.GetProperty("description").GetString()}"));
            return report.GetProperty("status").GetString() switch
            {
                nameof(HealthStatus.Healthy) => HealthCheckResult.Healthy(),
                nameof(HealthStatus.Degraded) => HealthCheckResult.Degraded(reasons),
                _ => HealthCheckResult.Unhealthy(reasons),
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }

    public void Dispose() => http.Dispose();
}

public static class ServiceHealthCheckExtensions
{
    /// <summary>Marks the resource Healthy, Degraded (with reasons) or Unhealthy from its /health on an HTTP/1.1 endpoint.</summary>
    public static IResourceBuilder<ProjectResource> WithServiceHealthCheck(this IResourceBuilder<ProjectResource> builder, string endpointName)
    {
        var key = $"{builder.Resource.Name}-health";
        var check = new ServiceHealthCheck(builder.GetEndpoint(endpointName));
        builder.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(key, _ => check, failureStatus: null, tags: null));
        return builder.WithHealthCheck(key);
    }
}
