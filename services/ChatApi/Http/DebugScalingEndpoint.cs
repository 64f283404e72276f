using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.Cache.V1;
using Platform.RateLimit.V1;
using Platform.ServiceDefaults;

namespace Platform.ChatApi.Http;

/// <summary>
/// GET /debug/scaling (only with Chat:ScalingDebug, on in Development): what the page's ?debug=scaling panel shows — this replica's hardware, the rate-limit
/// policies in force, the response cache's numbers across replicas and the audio queue's. A dependency that cannot be asked
/// shows as an error string; the endpoint itself still answers.
/// </summary>
public static class DebugScalingEndpoint
{
    public static void MapDebugScaling(this WebApplication app) =>
        app.MapGet("/debug/scaling", async (HttpContext http, ApiKeys apiKeys, RateLimiter.RateLimiterClient rateLimiter,
            Cache.V1.Cache.CacheClient cache, AudioQueue.V1.AudioQueue.AudioQueueClient queue, IOptionsMonitor<ChatGatewayOptions> options, ScalingInfoSource scaling,
            CancellationToken cancellationToken) =>
        {
            if (!options.CurrentValue.ScalingDebug)
            {
                return Results.NotFound();
            }
            if (apiKeys.Identify(http) is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "invalid_api_key", detail: "Missing or invalid API key.");
            }
            var deadline = DateTime.UtcNow.AddSeconds(2);
            return Results.Json(new
            {
                // The same as every service's Diagnostics.GetScalingInfo, in its JSON form.
                replica = JsonDocument.Parse(JsonFormatter.Default.Format(scaling.Describe())).RootElement,
                rateLimit = await Ask(async () => (await rateLimiter.ListPoliciesAsync(new ListPoliciesRequest(), deadline: deadline, cancellationToken: cancellationToken))
                    .Policies.Select(p => new { p.Name, algorithm = p.Algorithm.ToString(), p.Limit, windowSeconds = p.Window?.ToTimeSpan().TotalSeconds, p.Burst, p.Shadow, failureMode = p.FailureMode.ToString() })),
                cache = await Ask(async () => await cache.GetStatsAsync(new Cache.V1.GetStatsRequest { Namespace = options.CurrentValue.CacheNamespace }, deadline: deadline, cancellationToken: cancellationToken)),
                audioQueue = await Ask(async () => await queue.GetStatsAsync(new AudioQueue.V1.GetStatsRequest(), deadline: deadline, cancellationToken: cancellationToken)),
            });
        }).WithSummary("Scaling diagnostics for the ?debug=scaling panel (Chat:ScalingDebug; on in Development)")
        .WithMetadata(new Microsoft.AspNetCore.Cors.DisableCorsAttribute()) // for the page on this origin, not other sites
        .WithRequestTimeout(RouteTimeoutOptions.Read)
        .WithMetadata(new Platform.ServiceDefaults.Admission.AdmissionClassAttribute(RouteTimeoutOptions.Read));

    static async Task<object> Ask(Func<Task<object>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException e)
        {
            return $"unavailable: {e.StatusCode} {e.Status.Detail}";
        }
    }
}
