using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Tests.Support;

/// <summary>
/// One Platform service running in the test process on real Kestrel sockets (loopback, free port),
/// configured like a standalone deployment: its own appsettings.json plus the given settings.
/// </summary>
/// <typeparam name="TEntryPoint">Any type from the service's assembly.</typeparam>
public sealed class ServiceHost<TEntryPoint> : WebApplicationFactory<TEntryPoint> where TEntryPoint : class
{
    readonly Dictionary<string, string?> settings;
    readonly string? reloadableJsonFile;
    readonly Action<IServiceCollection>? replaceServices;

    /// <param name="reloadableJsonFile">An extra appsettings-style file, watched for edits like appsettings.json.</param>
    /// <param name="replaceServices">Registrations that replace the service's own (e.g. a fake clock).</param>
    public ServiceHost(IDictionary<string, string?> settings, string? reloadableJsonFile = null, Action<IServiceCollection>? replaceServices = null)
    {
        this.reloadableJsonFile = reloadableJsonFile;
        this.replaceServices = replaceServices;
        this.settings = new Dictionary<string, string?>(settings)
        {
            // Shorter than the default so tests of a Redis outage do not wait long on each call.
            ["Redis:TimeoutMs"] = settings.TryGetValue("Redis:TimeoutMs", out var timeout) ? timeout : "1000",
        };
        this.settings.TryAdd("urls", "http://127.0.0.1:0");
        foreach (var (key, value) in TestCredentials.Settings(TestCredentials.Tests))
        {
            this.settings.TryAdd(key, value);
        }
        // What ChatApi presents to the services it calls.
        this.settings.TryAdd(Microsoft.Extensions.Hosting.Extensions.PlatformApiKeySetting, TestCredentials.Tests.Key);
        UseKestrel();
        StartServer();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        // UseSetting (not ConfigureAppConfiguration) so the values are visible while Program registers
        // services, and override the service's appsettings.json.
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
        if (reloadableJsonFile is not null)
        {
            builder.ConfigureAppConfiguration(config => config.AddJsonFile(reloadableJsonFile, optional: false, reloadOnChange: true));
        }
        if (replaceServices is not null)
        {
            builder.ConfigureTestServices(replaceServices);
        }
    }

    /// <summary>The addresses Kestrel bound, in configuration order.</summary>
    public IReadOnlyList<Uri> Addresses =>
        Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();

    /// <summary>
    /// A gRPC channel over HTTP/2 cleartext, as a plain client from any language would use, sending
    /// <paramref name="credential"/>'s key (by default the all-roles test credential; null: no key).
    /// </summary>
    public GrpcChannel Channel(int addressIndex = 0, TestCredential? credential = null) =>
        TestCredentials.Channel(Addresses[addressIndex], credential ?? TestCredentials.Tests);

    public GrpcChannel Channel(TestCredential credential) => Channel(0, credential);

    /// <summary>A channel that sends no key.</summary>
    public GrpcChannel AnonymousChannel() => GrpcChannel.ForAddress(Addresses[0]);
}

public static class ServiceHost
{
    public static ServiceHost<TEntryPoint> Start<TEntryPoint>(RedisFixture redis, params (string Key, string? Value)[] settings)
        where TEntryPoint : class => Start<TEntryPoint>(redis.Endpoint!, null, settings);

    public static ServiceHost<TEntryPoint> Start<TEntryPoint>(
        string redisEndpoint, Action<IServiceCollection>? replaceServices, params (string Key, string? Value)[] settings)
        where TEntryPoint : class
    {
        // Later settings win, so a test can override a default its base class set.
        var all = new Dictionary<string, string?>();
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        all["ConnectionStrings:redis"] = redisEndpoint;
        return new ServiceHost<TEntryPoint>(all, replaceServices: replaceServices);
    }
}
