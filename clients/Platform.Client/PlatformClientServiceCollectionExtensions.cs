using Grpc.Core;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Platform.Client;
using AudioQueueClient = Platform.AudioQueue.V1.AudioQueue.AudioQueueClient;
using AudioWorkerClient = Platform.AudioQueue.V1.AudioWorker.AudioWorkerClient;
using CacheClient = Platform.Cache.V1.Cache.CacheClient;
using RateLimiterClient = Platform.RateLimit.V1.RateLimiter.RateLimiterClient;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Platform gRPC clients.</summary>
public static class PlatformClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers typed gRPC clients for the Platform services: <see cref="RateLimiterClient"/>,
    /// <see cref="CacheClient"/>, <see cref="AudioQueueClient"/> and <see cref="AudioWorkerClient"/>.
    /// Inject them where they are needed.
    /// </summary>
    /// <remarks>
    /// <para>Settings (<see cref="PlatformClientOptions"/>) come from the configuration section
    /// <c>Platform:Clients</c> when an <see cref="IConfiguration"/> is registered (any .NET host), then from
    /// <paramref name="configure"/>.</para>
    /// <para>Each client gets: its address through service discovery; a default deadline on unary calls;
    /// the API key as <c>authorization: Bearer</c> metadata; gRPC's retry of UNAVAILABLE (connection refused,
    /// or a service whose Redis is unreachable) with exponential backoff; optionally a retry of
    /// RESOURCE_EXHAUSTED after the server's RetryInfo delay; keep-alive pings and extra HTTP/2 connections
    /// under load.</para>
    /// <para>The HttpClient standard resilience handler (Microsoft.Extensions.Http.Resilience) is not used, and is
    /// removed when the application adds it to every HttpClient (as Aspire's ServiceDefaults template does with
    /// <c>ConfigureHttpClientDefaults</c>). gRPC reports its errors in the trailers of an HTTP 200 response, which that
    /// handler's retry and circuit breaker never see (dotnet/extensions#4923); what it does see is the time until
    /// response headers, so its attempt and total timeouts (10 s, 30 s) cut a Lookup waiting for another caller's
    /// Fill or a Lease long poll, reported as INTERNAL "Error starting gRPC call. TimeoutRejectedException" (tested).
    /// gRPC deadlines and gRPC's own retry policy do that work per call instead.</para>
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the settings after configuration is bound.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddPlatformClients(this IServiceCollection services, Action<PlatformClientOptions>? configure = null)
    {
        var options = services.AddOptions<PlatformClientOptions>()
            .Configure<IServiceProvider>((o, provider) => provider.GetService<IConfiguration>()?.GetSection(PlatformClientOptions.SectionName).Bind(o));
        if (configure is not null)
        {
            options.Configure(configure);
        }
        services.AddSingleton<IValidateOptions<PlatformClientOptions>, PlatformClientOptionsValidator>();
        // So that IOptionsMonitor sees a reloaded section (a rotated ApiKey, a new deadline) without a restart.
        services.AddSingleton<IOptionsChangeTokenSource<PlatformClientOptions>>(provider => new ConfigurationChangeTokenSource<PlatformClientOptions>(
            (IConfiguration?)provider.GetService<IConfiguration>()?.GetSection(PlatformClientOptions.SectionName) ?? new ConfigurationBuilder().Build()));
        services.AddServiceDiscovery();

        AddClient<RateLimiterClient>(services, o => o.RateLimit);
        AddClient<CacheClient>(services, o => o.Cache);
        // Outermost, so that every attempt of one Enqueue carries the same key.
        AddClient<AudioQueueClient>(services, o => o.AudioQueue, new EnqueueIdempotencyInterceptor());
        AddClient<AudioWorkerClient>(services, o => o.AudioQueue);
        return services;
    }

    static IHttpClientBuilder AddClient<TClient>(IServiceCollection services, Func<PlatformClientOptions, PlatformServiceOptions> service,
        Grpc.Core.Interceptors.Interceptor? first = null)
        where TClient : class
    {
        var client = services.AddGrpcClient<TClient>((provider, factory) => factory.Address = service(Settings(provider)).Address);
        client.AddServiceDiscovery();
#pragma warning disable EXTEXP0001 // Experimental, and the supported way to take one client out of ConfigureHttpClientDefaults' resilience.
        client.RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        // One HTTP/2 connection carries at most 100 calls at once (Kestrel's default): under load, and with calls
        // that wait (Lookup, Lease, WatchJob), more connections open instead of calls queueing in the client.
        // Keep-alive pings find a dead connection under a long call that has no deadline (a WatchJob stream).
        client.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        });

        client.ConfigureChannel((provider, channel) =>
        {
            channel.MaxReceiveMessageSize = service(Settings(provider)).MaxReceiveMessageSize ?? channel.MaxReceiveMessageSize;
            // Call credentials are gRPC's way to attach a credential per call (read afresh each call, composed
            // with per-call credentials, kept when an address moves to https). gRPC sends them only over TLS unless
            // told otherwise, and Aspire wires services over cleartext HTTP/2 inside its network, so allow that:
            // the key then travels as any header on that connection does. Use https addresses across untrusted networks.
            channel.UnsafeUseInsecureChannelCallCredentials = true;
            channel.ServiceConfig = new ServiceConfig { MethodConfigs = { RetryUnavailable } };
        });
        client.AddCallCredentials((_, metadata, provider) =>
        {
            if (Settings(provider).ApiKey is { Length: > 0 } key)
            {
                metadata.Add("authorization", "Bearer " + key);
            }
            return Task.CompletedTask;
        });

        // Registration order is call order: the deadline is set before the retry, so every attempt stays within it.
        if (first is not null)
        {
            client.AddInterceptor(() => first);
        }
        client.AddInterceptor(provider =>
        {
            var monitor = provider.GetRequiredService<IOptionsMonitor<PlatformClientOptions>>();
            return new DefaultDeadlineInterceptor(() => service(monitor.CurrentValue).DefaultDeadline ?? monitor.CurrentValue.DefaultDeadline);
        });
        client.AddInterceptor(provider =>
        {
            var settings = Settings(provider);
            return service(settings).RetryResourceExhausted && settings.ResourceExhaustedRetry.MaxAttempts > 1
                ? new ResourceExhaustedRetryInterceptor(settings.ResourceExhaustedRetry,
                    provider.GetService<TimeProvider>() ?? TimeProvider.System, provider.GetService<ILoggerFactory>())
                : PassThrough;
        });
        return client;
    }

    static PlatformClientOptions Settings(IServiceProvider provider) =>
        provider.GetRequiredService<IOptionsMonitor<PlatformClientOptions>>().CurrentValue;

    static readonly Grpc.Core.Interceptors.Interceptor PassThrough = new NoInterceptor();

    sealed class NoInterceptor : Grpc.Core.Interceptors.Interceptor;

    /// <summary>
    /// UNAVAILABLE means the call did not reach a working service (connection refused or reset, or the service
    /// could not reach Redis): worth a few quick retries. A retried call stays within its deadline. Calls that
    /// may take effect twice are safe: Enqueue always carries an idempotency key (EnqueueIdempotencyInterceptor),
    /// a repeated Complete answers OK, a lease or rate-limit unit taken twice expires or refills on its own.
    /// </summary>
    static readonly MethodConfig RetryUnavailable = new()
    {
        Names = { MethodName.Default },
        RetryPolicy = new RetryPolicy
        {
            MaxAttempts = 3,
            InitialBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromSeconds(1),
            BackoffMultiplier = 2,
            RetryableStatusCodes = { StatusCode.Unavailable },
        },
    };
}
