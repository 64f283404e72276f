using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults;
using Platform.ChatApi.Model;

namespace Platform.ChatApi;

public static class Extensions
{
    /// <summary>The upstream OpenAI-compatible provider when one is configured, else the embedded simulated model.</summary>
    static IChatClient CreateModel(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptionsMonitor<ChatGatewayOptions>>();
        var upstream = options.CurrentValue.Upstream;
        if (!upstream.IsConfigured)
        {
            return new SimulatedChatClient(options, services.GetRequiredService<TimeProvider>());
        }
        var client = new OpenAI.Chat.ChatClient(upstream.Model, new System.ClientModel.ApiKeyCredential(upstream.ApiKey ?? "none"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(upstream.Endpoint!), NetworkTimeout = upstream.Timeout });
        return client.AsIChatClient();
    }

    /// <summary>504 with the same problem + OpenAI error body as every other error.</summary>
    static RequestTimeoutPolicy TimeoutPolicy(TimeSpan timeout) => new()
    {
        Timeout = timeout,
        TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
        WriteTimeoutResponse = context => Http.OpenAiProblem.Result(StatusCodes.Status504GatewayTimeout,
            $"The request took longer than its {timeout.TotalSeconds:0.###} s limit (Chat:RouteTimeouts).", "api_error", "timeout")
            .ExecuteAsync(context),
    };

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
                .WithExposedHeaders("X-Cache", "Location", "Server-Timing", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit", "RateLimit-Policy", "Retry-After");
        }));

        var timeouts = builder.Configuration.GetSection($"{ChatGatewayOptions.SectionName}:{nameof(ChatGatewayOptions.RouteTimeouts)}").Get<RouteTimeoutOptions>() ?? new();
        builder.Services.AddRequestTimeouts(requestTimeouts =>
        {
            requestTimeouts.AddPolicy(RouteTimeoutOptions.Chat, TimeoutPolicy(timeouts.ChatCompletions));
            requestTimeouts.AddPolicy(RouteTimeoutOptions.VoiceUpload, TimeoutPolicy(timeouts.VoiceUploads));
            requestTimeouts.AddPolicy(RouteTimeoutOptions.Read, TimeoutPolicy(timeouts.Reads));
        });

        builder.Services.AddPlatformGrpcClient<RateLimit.V1.RateLimiter.RateLimiterClient>("ratelimit");
        builder.Services.AddPlatformGrpcClient<Cache.V1.Cache.CacheClient>("cache");
        builder.Services.AddDependencyHealthCheck("ratelimit", "requests are allowed without rate limiting (fail open)");
        // Processed audio comes back whole (up to Chat:Voice:MaxAudioBytes; gRPC's default limit is 4 MiB).
        builder.Services.AddPlatformGrpcClient<AudioQueue.V1.AudioQueue.AudioQueueClient>("audioqueue")
            .ConfigureChannel(channel => channel.MaxReceiveMessageSize = 64 * 1024 * 1024);
        builder.Services.AddDependencyHealthCheck("cache", "answers are not cached (X-Cache: BYPASS)");
        builder.Services.AddDependencyHealthCheck("audioqueue", "voice messages answer 503 (chat is unaffected)");

        builder.Services.AddChatClient(CreateModel)
            .UseOpenTelemetry(sourceName: Platform.ServiceDefaults.PlatformTelemetry.ActivitySourceName);
        builder.Services.Configure<Platform.ServiceDefaults.Admission.AdmissionOptions>(admission => admission.OnRejected = Http.OpenAiProblem.WriteOverloadedAsync);
        builder.Services.AddSingleton<Dependencies>();
        builder.Services.AddSingleton<ChatPipeline>();
        // gRPC service class is stateless: one instance serves every call (grpc-dotnet otherwise builds one per call).
        builder.Services.AddSingleton<Grpc.ChatService>();
        builder.Services.AddWarmUpCall<ChatWarmUp>();
        builder.Services.AddSingleton<ChatMetrics>();
        builder.Services.AddSingleton<Voice.VoiceMessages>();
        // Created at start-up so the "anonymous" warning appears when the service starts.
        builder.Services.AddActivatedSingleton<ApiKeys>();
    }
}
