using System.Collections.Concurrent;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Tests.Support;

/// <summary>
/// One Platform service running in the test process on real Kestrel sockets (loopback, free ports),
/// configured like a standalone deployment: its own appsettings.json plus the given settings.
/// </summary>
/// <remarks>
/// Each service names its Kestrel endpoints in appsettings.json: RateLimit, Cache and AudioQueue serve gRPC
/// on "http" (HTTP/2 only) and JSON on "json" (HTTP/1.1). Unless the test places the endpoints itself
/// (ChatApiHost does), both move to port 0 on loopback; <see cref="GrpcAddress"/> and
/// <see cref="Http1Address"/> then say where each one listens.
/// </remarks>
/// <typeparam name="TEntryPoint">Any type from the service's assembly.</typeparam>
public sealed class ServiceHost<TEntryPoint> : WebApplicationFactory<TEntryPoint> where TEntryPoint : class
{
    readonly Dictionary<string, string?> settings;
    readonly string? reloadableJsonFile;
    readonly Action<IServiceCollection>? replaceServices;
    readonly ConcurrentDictionary<string, ListenOptions> endpoints = new(StringComparer.OrdinalIgnoreCase);

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
        if (!this.settings.Keys.Any(key => key.StartsWith("Kestrel:Endpoints:", StringComparison.OrdinalIgnoreCase)))
        {
            this.settings["Kestrel:Endpoints:http:Url"] = "http://127.0.0.1:0";
            this.settings["Kestrel:Endpoints:json:Url"] = "http://127.0.0.1:0";
        }
        foreach (var (key, value) in TestCredentials.Settings(TestCredentials.Tests))
        {
            this.settings.TryAdd(key, value);
        }
        // Off unless a test turns it on: hosts share the test process (its GC pauses and its CPU, busy with every other
        // test), so admission would shed for the test runner's load, not the service's (Admission/ tests turn it on).
        this.settings.TryAdd("Admission:Enabled", "false");
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
        // Keep each configured endpoint's ListenOptions: Kestrel writes the port it bound into them.
        builder.ConfigureServices(services => services.AddOptions<KestrelServerOptions>().PostConfigure<IConfiguration>((kestrel, configuration) =>
        {
            foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
            {
                kestrel.ConfigurationLoader?.Endpoint(endpoint.Key, options => endpoints[endpoint.Key] = options.ListenOptions);
            }
        }));
    }

    /// <summary>
    /// The addresses Kestrel bound, in the order it bound its configured endpoints (by name: "http", the
    /// gRPC one, before "json"). Prefer <see cref="GrpcAddress"/> and <see cref="Http1Address"/>.
    /// </summary>
    public IReadOnlyList<Uri> Addresses =>
        Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();

    /// <summary>The HTTP/2-only endpoint: gRPC.</summary>
    public Uri GrpcAddress => AddressOf(HttpProtocols.Http2);

    /// <summary>The HTTP/1.1 endpoint: JSON transcoding of the gRPC services (ChatApi: its HTTP API).</summary>
    public Uri Http1Address => AddressOf(HttpProtocols.Http1);

    /// <summary>
    /// A gRPC channel over HTTP/2 cleartext, as a plain client from any language would use, sending
    /// <paramref name="credential"/>'s key (by default the all-roles test credential).
    /// </summary>
    public GrpcChannel Channel(TestCredential? credential = null) => TestCredentials.Channel(GrpcAddress, credential ?? TestCredentials.Tests);

    /// <summary>An HTTP/1.1 client of the JSON endpoint sending the credential's key (by default the all-roles test credential; null: none).</summary>
    public HttpClient JsonClient(TestCredential? credential) => new()
    {
        BaseAddress = Http1Address,
        DefaultRequestHeaders = { Authorization = credential is null ? null : new("Bearer", credential.Key) },
    };

    public HttpClient JsonClient() => JsonClient(TestCredentials.Tests);

    /// <summary>A gRPC channel that sends no key.</summary>
    public GrpcChannel AnonymousChannel() => GrpcChannel.ForAddress(GrpcAddress);

    Uri AddressOf(HttpProtocols protocols)
        => endpoints.Values.Where(e => e.Protocols == protocols).Select(e => new Uri($"http://{e.IPEndPoint}")).Single();
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
