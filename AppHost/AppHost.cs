using Platform.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddPlatformRedis();

var ratelimit = builder.AddProject<Projects.RateLimit>("ratelimit")
    .WithRedis(redis)
    .WithGrpcHealthCheck();

var cache = builder.AddProject<Projects.Cache>("cache")
    .WithRedis(redis)
    .WithGrpcHealthCheck();

var audioqueue = builder.AddProject<Projects.AudioQueue>("audioqueue")
    .WithRedis(redis)
    .WithGrpcHealthCheck();

// Public HTTP API on the fixed port in services/ChatApi/appsettings.json (http://localhost:5080),
// gRPC for internal teams on 5081.
builder.AddProject<Projects.ChatApi>("chatapi")
    .WithReference(ratelimit).WaitFor(ratelimit)
    .WithReference(cache).WaitFor(cache)
    .WithReference(audioqueue).WaitFor(audioqueue)
    .WithHttpHealthCheck("/health", endpointName: "http");

var app = builder.Build();
redis.LogChoice(app);
app.Run();
