using Microsoft.Extensions.AI;
using Platform.ChatApi.Model;

namespace Platform.ChatApi;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatGatewayOptions>().BindConfiguration(ChatGatewayOptions.SectionName);
        builder.Services.AddOpenApi();
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            var origins = builder.Configuration.GetSection($"{ChatGatewayOptions.SectionName}:{nameof(ChatGatewayOptions.CorsOrigins)}").Get<string[]>() ?? [];
            if (origins.Contains("*"))
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins(origins);
            }
            // Browsers may read what the page needs: cache status, limits and when to retry.
            policy.AllowAnyHeader().WithMethods("GET", "POST")
                .WithExposedHeaders("X-Cache", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit", "RateLimit-Policy", "Retry-After");
        }));

        builder.Services.AddPlatformGrpcClient<RateLimit.V1.RateLimiter.RateLimiterClient>("ratelimit");
        builder.Services.AddPlatformGrpcClient<Cache.V1.Cache.CacheClient>("cache");

        builder.Services.AddChatClient(services => new SimulatedChatClient(
                services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<ChatGatewayOptions>>(),
                services.GetRequiredService<TimeProvider>()))
            .UseOpenTelemetry(sourceName: Platform.ServiceDefaults.PlatformTelemetry.ActivitySourceName);
        builder.Services.AddSingleton<ChatPipeline>();
        // Created at start-up so the "anonymous" warning appears when the service starts.
        builder.Services.AddActivatedSingleton<ApiKeys>();
    }
}
