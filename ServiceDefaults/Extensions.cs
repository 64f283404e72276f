using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Admission;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Health;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Cross-cutting plumbing every Platform service shares: telemetry, health, service discovery,
/// resilience, gRPC hosting conventions and the Redis client. A service never repeats these.
/// </summary>
public static class Extensions
{
    const string HealthEndpointPath = "/health";
    const string AlivenessEndpointPath = "/alive";
    const string LiveTag = "live";

    /// <summary>The API key a service presents when it calls another Platform service.</summary>
    public const string PlatformApiKeySetting = "Platform:ApiKey";

    /// <summary>Telemetry, health checks, service discovery, HttpClient resilience (gRPC clients: see AddPlatformGrpcClient), gRPC hosting.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag])
            .AddCheck<ErrorRateHealthCheck>("error-rate")
            .AddCheck<DegradedDecisionsHealthCheck>("degraded-decisions")
            .AddCheck<AdmissionHealthCheck>("admission");
        builder.AddAlerts();
        builder.AddAdmission();
        builder.Services.AddSingleton<WarmUpCredential>();
        builder.Services.AddSingleton<WarmUp>();
        builder.Services.AddHostedService(services => services.GetRequiredService<WarmUp>());
        builder.Services.AddHealthChecks().AddCheck<WarmUp>("warm-up");
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ScalingInfoSource>();
        builder.Services.AddSingleton<DiagnosticsService>(); // one instance for every call, as the services' own

        // Every service serves gRPC: rich errors for Redis outages, grpc.health.v1 (mirroring the
        // ASP.NET Core health checks) and server reflection, so grpcurl works without .proto files.
        // JSON transcoding serves each RPC that has a google.api.http route as JSON over HTTP too
        // (through the same interceptors); the services listen for it on their HTTP/1.1 "json" endpoint.
        // An error's JSON body is its google.rpc.Status: the transcoder must know the detail types
        // (GrpcErrors uses those of google/rpc/error_details.proto), or it fails writing them.
        builder.Services.AddSingleton<PlatformCallInterceptor>(); // one instance, not one per call
        builder.Services.AddGrpc(options =>
        {
            options.Interceptors.Add<PlatformCallInterceptor>();
            options.EnableDetailedErrors = builder.Environment.IsDevelopment();
            // Calls of unknown services and methods are answered by UnknownRpcs: grpc-dotnet's own catch-all
            // routes for them make routing capture route values on every call.
            options.IgnoreUnknownServices = true;
        }).AddJsonTranscoding(options => options.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor));
        // A request that is not a valid message is INVALID_ARGUMENT, not UNKNOWN (see MalformedRequests).
        builder.Services.AddStrictRequestParsing();
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        return builder;
    }

    /// <summary>
    /// The shared Redis connection (connection string "redis": one server, or a cluster's nodes), with
    /// Aspire's tracing and metrics and a health check that also works on a cluster (RedisHealthCheck).
    /// The service starts even when Redis is down: it reports Unhealthy and reconnects on its own when
    /// Redis appears.
    /// </summary>
    public static TBuilder AddPlatformRedis<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // Tracing: RedisScript's spans (see there), not the instrumentation's profiling of every command.
        builder.AddRedisClient("redis", settings => (settings.DisableHealthChecks, settings.DisableTracing) = (true, true), options =>
        {
            options.AbortOnConnectFail = false;
            // While disconnected, fail a command at once instead of queueing it until its timeout: every caller then
            // degrades in milliseconds (RateLimit's failure modes, Cache's bypass and stale copies, UNAVAILABLE),
            // where queueing made each request of an outage wait the full timeout, several times over.
            options.BacklogPolicy = StackExchange.Redis.BacklogPolicy.FailFast;
            options.SyncTimeout = options.AsyncTimeout = builder.Configuration.GetValue("Redis:TimeoutMs", 2000);
            options.ConnectTimeout = builder.Configuration.GetValue("Redis:ConnectTimeoutMs", 2000);
        });
        // Serve only once the first connection attempt is over. Aspire's auto activation creates the client
        // at start-up but does not hold start-up for it; a replica answering before it is connected would
        // take every decision in degraded mode (RateLimit would fail open), and a burst of first requests
        // would each block a thread waiting for the connection.
        builder.Services.AddHostedService<RedisWarmUp>();
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        return builder;
    }

    /// <summary>
    /// Registers a typed gRPC client for another Platform service, addressed by its Aspire resource
    /// name ("http://ratelimit") and resolved through service discovery.
    /// </summary>
    /// <remarks>
    /// gRPC clients get gRPC's own retry policy (UNAVAILABLE, with backoff) instead of the HttpClient
    /// standard resilience handler: that handler's per-attempt and total timeouts would cut long calls
    /// (a Lookup waiting for another caller's Fill, server streams). Each call sets its own deadline.
    /// </remarks>
    /// <param name="name">A client name, when one client type talks to several services.</param>
    public static IHttpClientBuilder AddPlatformGrpcClient<TClient>(this IServiceCollection services, string serviceName, string? name = null)
        where TClient : class
    {
        Action<Grpc.Net.ClientFactory.GrpcClientFactoryOptions> address = options => options.Address = new Uri($"http://{serviceName}");
        var client = name is null ? services.AddGrpcClient<TClient>(address) : services.AddGrpcClient<TClient>(name, address);
#pragma warning disable EXTEXP0001 // Experimental, and the supported way to opt one client out of ConfigureHttpClientDefaults.
        client.RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        // One HTTP/2 connection carries at most 100 calls at once (Kestrel's default); under load, and with
        // calls that wait (Lookup, streams), more connections open instead of calls queueing in the client.
        client.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        });
        // This service's own credential (Platform:ApiKey), sent to the other services as `authorization: Bearer`.
        // Inside a cluster the hop is cleartext h2c, so gRPC must be told to send call credentials anyway.
        client.AddCallCredentials((_, metadata, services) =>
        {
            if (services.GetRequiredService<IConfiguration>()[PlatformApiKeySetting] is { Length: > 0 } key)
            {
                metadata.Add(AuthorizationEntry(key));
            }
            return Task.CompletedTask;
        });
        client.ConfigureChannel(channel => channel.UnsafeUseInsecureChannelCallCredentials = true);
        client.ConfigureChannel(channel => channel.ServiceConfig = new Grpc.Net.Client.Configuration.ServiceConfig
        {
            MethodConfigs =
            {
                new Grpc.Net.Client.Configuration.MethodConfig
                {
                    Names = { Grpc.Net.Client.Configuration.MethodName.Default },
                    RetryPolicy = new Grpc.Net.Client.Configuration.RetryPolicy
                    {
                        MaxAttempts = 3,
                        InitialBackoff = TimeSpan.FromMilliseconds(100),
                        MaxBackoff = TimeSpan.FromSeconds(1),
                        BackoffMultiplier = 2,
                        RetryableStatusCodes = { Grpc.Core.StatusCode.Unavailable },
                    },
                },
            },
        });
        return client;
    }

    /// <summary>The authorization metadata for a key, built once per key (it is read again on every call, so a reloaded key applies at once).</summary>
    static Grpc.Core.Metadata.Entry AuthorizationEntry(string key)
    {
        var cached = lastAuthorization;
        if (cached?.Key != key)
        {
            lastAuthorization = cached = new(key, new Grpc.Core.Metadata.Entry("authorization", "Bearer " + key));
        }
        return cached.Entry;
    }

    static volatile AuthorizationCache? lastAuthorization;

    sealed record AuthorizationCache(string Key, Grpc.Core.Metadata.Entry Entry);

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Load shedding first: under overload a refusal must cost as little as possible.
        app.UseMiddleware<AdmissionMiddleware>();
        // Credentials and roles on every call (services that called AddPlatformAuth).
        app.UsePlatformAuth();
        app.UseMiddleware<UnknownRpcs>();
        // JSON bodies over what the RPC accepts: 413, not a reset connection or a 400 (see JsonBodyLimit).
        app.UseMiddleware<JsonBodyLimit>();
        // /health: every check (Redis included) — ready to serve. /alive: the process itself.
        // Probes and reflection (the schema, as public as the .proto files) need no credential.
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = HealthJson.WriteAsync }).AllowAnonymous();
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag), ResponseWriter = HealthJson.WriteAsync }).AllowAnonymous();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService().AllowAnonymous();
        return app;
    }

    /// <summary>Health probes: kept out of traces and of the error-rate alert.</summary>
    public static bool IsProbe(PathString path) =>
        path.StartsWithSegments(HealthEndpointPath) || path.StartsWithSegments(AlivenessEndpointPath) || path.StartsWithSegments("/grpc.health.v1.Health");

    /// <summary>Admission control (section Admission): the gates, the saturation probe that adapts their limits.</summary>
    static void AddAdmission<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<AdmissionOptions>().BindConfiguration(AdmissionOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AdmissionOptions>, AdmissionOptionsValidator>();
        builder.Services.AddSingleton<AdmissionControl>();
        builder.Services.AddHostedService<SaturationProbe>();
    }

    /// <summary>Alert thresholds (section Alerts) as health: signals, and the background evaluation that logs transitions.</summary>
    static void AddAlerts<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AlertOptions>, AlertOptionsValidator>();
        builder.Services.AddSingleton<RequestOutcomes>();
        builder.Services.AddTransient<IStartupFilter, RequestOutcomeStartupFilter>();
        builder.Services.AddSingleton<DegradedDecisions>();
        builder.Services.AddSingleton<IHealthCheckPublisher, HealthTransitionLogger>();
        builder.Services.AddOptions<HealthCheckPublisherOptions>().Configure<IOptions<AlertOptions>>((publisher, alerts) =>
        {
            publisher.Delay = TimeSpan.FromSeconds(1);
            publisher.Period = alerts.Value.EvaluationPeriod;
        });
    }

    /// <summary>
    /// Head sampling. The standard OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG win when set (the SDK reads
    /// them); otherwise Development keeps every trace and other environments keep
    /// <see cref="PlatformTelemetry.ProductionTraceRatio"/> of them, whole: a span tree per request costs more
    /// than the request itself on the hot paths (docs/PERFORMANCE.md).
    /// </summary>
    static TracerProviderBuilder SetDefaultSampler<TBuilder>(this TracerProviderBuilder tracing, TBuilder builder) where TBuilder : IHostApplicationBuilder =>
        !string.IsNullOrEmpty(builder.Configuration["OTEL_TRACES_SAMPLER"]) ? tracing
        : builder.Environment.IsDevelopment() ? tracing.SetSampler(new ParentBasedSampler(new AlwaysOnSampler()))
        : tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(PlatformTelemetry.ProductionTraceRatio)));

    static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(PlatformTelemetry.MeterPrefix + "*"))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(PlatformTelemetry.ActivitySourceName)
                .AddAspNetCoreInstrumentation(options =>
                    // Probes would drown the traces that matter.
                    options.Filter = context => !IsProbe(context.Request.Path))
                .AddGrpcClientInstrumentation()
                .AddHttpClientInstrumentation()
                .SetDefaultSampler(builder));

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
        return builder;
    }
}
