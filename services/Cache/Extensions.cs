namespace Platform.Cache;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddPlatformRedis();
        builder.Services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.SectionName);
        builder.Services.AddSingleton<CacheStore>();
    }
}
