using System.Globalization;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;

namespace Platform.Cache;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddPlatformRedis();
        builder.AddPlatformAuth();
        builder.Services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.SectionName);
        builder.Services.AddSingleton<CacheStore>();
        builder.Services.AddSingleton<LocalCache>();
        builder.Services.AddSingleton<LeaseWaiters>();
        builder.Services.AddSingleton<CacheBackplane>();
        builder.Services.AddHostedService(services => services.GetRequiredService<CacheBackplane>());
        builder.Services.AddSingleton<CacheStats>();
        builder.Services.AddHostedService<CacheStatsFlusher>();
        builder.Services.AddSingleton<SharedCache>();
        // gRPC service classes are stateless: one instance serves every call (grpc-dotnet otherwise builds one per call).
        builder.Services.AddSingleton<Grpc.CacheService>();
        builder.Services.AddWarmUpCall<CacheWarmUp>();
        builder.Services.AddSingleton(services => new ScalingSettings(() =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<CacheOptions>>().CurrentValue;
            return new Dictionary<string, string>
            {
                ["cache.l1.max_entries"] = options.L1MaxEntries.ToString(CultureInfo.InvariantCulture),
                ["cache.l1.max_bytes"] = options.L1MaxBytes.ToString(CultureInfo.InvariantCulture),
            };
        }));
    }
}
