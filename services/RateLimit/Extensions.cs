using System.Globalization;
using Microsoft.Extensions.Options;
using Platform.RateLimit.Envoy;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;
using StackExchange.Redis;

namespace Platform.RateLimit;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddPlatformRedis();
        builder.AddPlatformAuth();
        // IOptionsMonitor picks up edits to appsettings.json and other reloadable sources without a restart.
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();

        builder.Services.AddSingleton(services => new RedisRateLimiter(services.GetRequiredService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton<OverLimitCache>();
        builder.Services.AddSingleton<OverLimitResets>();
        builder.Services.AddHostedService(services => services.GetRequiredService<OverLimitResets>());
        builder.Services.AddSingleton<LocalFallbackLimiter>();
        builder.Services.AddSingleton<RateLimitMetrics>();
        builder.Services.AddSingleton<RateLimitDecider>();
        // gRPC service classes are stateless: one instance serves every call (grpc-dotnet otherwise builds one per call).
        builder.Services.AddSingleton<Grpc.RateLimiterService>();
        builder.Services.AddSingleton<EnvoyRateLimitService>();
        builder.Services.AddWarmUpCall<RateLimitWarmUp>();
        // Created at start-up, so an invalid Envoy configuration stops the service before it serves.
        builder.Services.AddActivatedSingleton<EnvoyConfigStore>();
        builder.Services.AddSingleton(services => new ScalingSettings(() =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<RateLimitOptions>>().CurrentValue;
            return new Dictionary<string, string>
            {
                ["ratelimit.replicas"] = options.Replicas.ToString(CultureInfo.InvariantCulture),
                ["ratelimit.over_limit_cache_size"] = options.OverLimitCacheSize.ToString(CultureInfo.InvariantCulture),
            };
        }));
    }
}
