namespace Platform.RateLimit;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddPlatformRedis();
        // IOptionsMonitor picks up edits to appsettings.json and other reloadable sources without a restart.
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName);
        builder.Services.AddSingleton<FixedWindowLimiter>();
    }
}
