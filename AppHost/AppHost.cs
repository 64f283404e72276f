using Platform.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddPlatformRedis();
var credentials = builder.AddPlatformCredentials();

// RateLimit, Cache and AudioQueue each have two Kestrel endpoints in their appsettings.json, which Aspire
// turns into named endpoints: "http" for gRPC (HTTP/2 cleartext; 5101, 5102, 5103), what
// "http://ratelimit" resolves to in service discovery, and "json" for gRPC JSON transcoding over HTTP/1.1
// (5111, 5112, 5113), where the dashboard reads each service's /health (Healthy, Degraded with reasons, Unhealthy).
// Replicas per service: Replicas:<resource> (default 1), e.g. `dotnet run --project AppHost -- --Replicas:ratelimit=3`.
// Every replica shares Redis, so limits, single flight and job delivery stay exact across them.
var ratelimitReplicas = builder.Replicas("ratelimit");
var ratelimit = builder.AddProject<Projects.RateLimit>("ratelimit")
    .WithReplicas(ratelimitReplicas)
    // FailureMode Local splits each limit among the replicas while Redis is away.
    .WithEnvironment("RateLimit__Replicas", ratelimitReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture))
    .WithRedis(redis)
    .WithCredentials(credentials)
    .WithServiceHealthCheck("json")
    .WithRateLimitCommands(credentials)
    .WithScalingInfoCommand(credentials);

var cache = builder.AddProject<Projects.Cache>("cache")
    .WithReplicas(builder.Replicas("cache"))
    .WithRedis(redis)
    .WithCredentials(credentials)
    .WithServiceHealthCheck("json")
    .WithCacheCommands(credentials)
    .WithScalingInfoCommand(credentials);

var audioqueue = builder.AddProject<Projects.AudioQueue>("audioqueue")
    .WithReplicas(builder.Replicas("audioqueue"))
    .WithRedis(redis)
    .WithCredentials(credentials)
    .WithServiceHealthCheck("json")
    .WithAudioQueueCommands(credentials)
    .WithScalingInfoCommand(credentials);

// Public HTTP API on the fixed port in services/ChatApi/appsettings.json (http://localhost:5080),
// gRPC for internal teams on 5081.
// ChatApi waits for the others to start, not to be Healthy: a Degraded one (an alert, e.g. an old job behind
// a paused queue) must not keep the front door shut, and ChatApi degrades on its own while one is missing.
var chatapi = builder.AddProject<Projects.ChatApi>("chatapi")
    .WithReplicas(builder.Replicas("chatapi"))
    .WithReference(ratelimit).WaitForStart(ratelimit)
    .WithReference(cache).WaitForStart(cache)
    .WithReference(audioqueue).WaitForStart(audioqueue)
    .WithEnvironment("Platform__ApiKey", credentials.ChatApiKey)
    .WithServiceHealthCheck("http");

// Callers' API keys ("name=key;name=key") as a secret parameter. Unset (development): anonymous access,
// limited per client address. Set Parameters:chat-api-keys (user secrets, environment) to require keys.
if (!string.IsNullOrEmpty(builder.Configuration["Parameters:chat-api-keys"]))
{
    chatapi.WithEnvironment("Chat__ApiKeys", builder.AddParameter("chat-api-keys", secret: true));
}

// An OpenAI-compatible provider instead of the embedded simulated model, when its endpoint is configured.
if (!string.IsNullOrEmpty(builder.Configuration["Parameters:chat-upstream-endpoint"]))
{
    chatapi.WithEnvironment("Chat__Upstream__Endpoint", builder.AddParameter("chat-upstream-endpoint"))
        .WithEnvironment("Chat__Upstream__Model", builder.AddParameter("chat-upstream-model"))
        .WithEnvironment("Chat__Upstream__ApiKey", builder.AddParameter("chat-upstream-key", secret: true));
}

// An OpenAI-compatible speech-to-text endpoint for the built-in audio worker's transcription stage.
if (!string.IsNullOrEmpty(builder.Configuration["Parameters:audio-transcription-endpoint"]))
{
    audioqueue.WithEnvironment("AudioQueue__Transcription__Endpoint", builder.AddParameter("audio-transcription-endpoint"))
        .WithEnvironment("AudioQueue__Transcription__Model", builder.AddParameter("audio-transcription-model"))
        .WithEnvironment("AudioQueue__Transcription__ApiKey", builder.AddParameter("audio-transcription-key", secret: true));
}

var app = builder.Build();
redis.LogChoice(app);
app.Run();
