using System.Net;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.RateLimit.V1;
using StackExchange.Redis;

namespace Platform.EndToEndTests;

/// <summary>
/// The real AppHost, as `dotnet run --project AppHost` starts it: Redis (or Garnet), the four services,
/// health checks and service discovery. One test per Redis engine a fresh machine can use.
/// </summary>
public sealed class AppHostTests
{
    const int ChatLimit = 3;
    const string OperatorKey = "e2e-operator-key-0123456789abcdef";

    /// <summary>Two replicas of every service behind Aspire's proxies: limits, the cache and the queue are shared, so nothing changes for callers.</summary>
    [Fact]
    public Task Chat_is_limited_and_cached_and_voice_is_processed_end_to_end_with_the_default_engine_and_two_replicas_of_each_service() =>
        RunChatScenarioAsync(engineArgument: null, "Replicas:ratelimit=2", "Replicas:cache=2", "Replicas:audioqueue=2", "Replicas:chatapi=2");

    [Fact]
    public Task Chat_is_limited_and_cached_and_voice_is_processed_end_to_end_with_embedded_garnet() =>
        RunChatScenarioAsync(engineArgument: "Redis:Engine=Garnet");

    static async Task RunChatScenarioAsync(string? engineArgument, params string[] settings)
    {
        // A fresh data directory: persisted state from other runs (or from `dotnet run`) must not leak in.
        var dataDirectory = Directory.CreateTempSubdirectory("platform-e2e-").FullName;
        try
        {
            await RunChatScenarioAsync(engineArgument, settings, dataDirectory);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    static async Task RunChatScenarioAsync(string? engineArgument, string[] settings, string dataDirectory)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        var ct = timeout.Token;

        string[] args = [$"Redis:DataDirectory={dataDirectory}", $"Parameters:operator-key={OperatorKey}", .. engineArgument is null ? [] : new[] { engineArgument }, .. settings];
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(args, ct);
        appHost.CreateResourceBuilder<ProjectResource>("ratelimit")
            .WithEnvironment("RateLimit__Policies__chat__Limit", ChatLimit.ToString())
            .WithEnvironment("RateLimit__Policies__chat__Window", "01:00:00");
        appHost.CreateResourceBuilder<ProjectResource>("audioqueue")
            .WithEnvironment("Alerts__QueueDepth", "1");
        appHost.CreateResourceBuilder<ProjectResource>("chatapi")
            .WithEnvironment("Chat__Simulated__Latency", "00:00:00.010");

        await using var app = await appHost.BuildAsync(ct);
        await app.StartAsync(ct);

        var model = app.Services.GetRequiredService<DistributedApplicationModel>();
        var server = model.Resources.Single(r => r.Name is "redis-server" or "garnet" || r is RedisResource);
        if (engineArgument is not null)
        {
            Assert.Equal("garnet", server.Name);
        }
        foreach (var name in new[] { server.Name, "ratelimit", "cache", "audioqueue", "chatapi" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name, ct);
        }

        await AssertAccessIsGuardedAsync(app, ct);
        await AssertOperatorCommandsWorkAsync(app, ct);

        using var http = app.CreateHttpClient("chatapi", "http");
        var question = "How many users can the platform hold? " + Guid.NewGuid();
        var miss = await AskAsync(http, question, ct);
        var hit = await AskAsync(http, question, ct);
        // The dashboard's "Clear namespace" on ChatApi's cache: the same question misses again.
        var cleared = await RunAsync(app, "cache", "clear-namespace", ct, ("team", "chat"), ("namespace", "chat"));
        Assert.True(cleared.Success);
        var missAgain = await AskAsync(http, question, ct);
        HttpResponseMessage? limited = null;
        for (var i = 0; i < ChatLimit && limited is null; i++)
        {
            var response = await AskAsync(http, $"question {i} {Guid.NewGuid()}", ct);
            limited = response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        Assert.Equal(HttpStatusCode.OK, miss.StatusCode);
        Assert.Equal("MISS", miss.Headers.GetValues("X-Cache").Single());
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("HIT", hit.Headers.GetValues("X-Cache").Single());
        Assert.Equal("MISS", missAgain.Headers.GetValues("X-Cache").Single());
        Assert.Equal(await miss.Content.ReadAsStringAsync(ct), await hit.Content.ReadAsStringAsync(ct));
        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(ChatLimit.ToString(), limited.Headers.GetValues("X-RateLimit-Limit").Single());

        // A voice message: ChatApi → AudioQueue → its built-in worker, followed to the end through SSE.
        var upload = new ByteArrayContent(ToneWav());
        upload.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("audio/wav");
        var accepted = await http.PostAsync("/v1/audio/messages", upload, ct);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var events = await http.GetStringAsync(accepted.Headers.Location + "/events", ct);
        Assert.Contains("\"status\":\"succeeded\"", events.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[^1]);
    }

    /// <summary>The dashboard's operator buttons, run the way the dashboard runs them: each calls its admin RPC.</summary>
    static async Task AssertOperatorCommandsWorkAsync(DistributedApplication app, CancellationToken ct)
    {
        using var channel = OperatorChannel(app.GetEndpoint("audioqueue", "http"));
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(channel);

        await RunAsync(app, "audioqueue", "pause", ct);
        Assert.True((await queue.GetStatsAsync(new Platform.AudioQueue.V1.GetStatsRequest(), cancellationToken: ct)).Paused);

        // An alert: two jobs waiting behind the paused queue cross Alerts:QueueDepth (1), and the dashboard shows
        // the service Degraded with the reason, then Healthy once they are gone.
        var waiting = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            waiting.Add((await queue.EnqueueAsync(new Platform.AudioQueue.V1.EnqueueRequest { Audio = Google.Protobuf.ByteString.CopyFrom(ToneWav()), ContentType = "audio/wav" }, cancellationToken: ct)).JobId);
        }
        var degraded = await app.ResourceNotifications.WaitForResourceAsync("audioqueue", e => e.Snapshot.HealthStatus == HealthStatus.Degraded, ct);
        Assert.Contains(degraded.Snapshot.HealthReports, r => r.Description?.Contains("queue-backlog: 2 jobs waiting") == true);
        foreach (var id in waiting)
        {
            await queue.CancelAsync(new Platform.AudioQueue.V1.CancelRequest { JobId = id }, cancellationToken: ct);
        }
        await app.ResourceNotifications.WaitForResourceHealthyAsync("audioqueue", ct);

        await RunAsync(app, "audioqueue", "resume", ct);
        Assert.False((await queue.GetStatsAsync(new Platform.AudioQueue.V1.GetStatsRequest(), cancellationToken: ct)).Paused);
        await RunAsync(app, "audioqueue", "requeue-dead", ct);

        var scaling = await RunAsync(app, "audioqueue", "scaling-info", ct);
        Assert.Contains("audioqueue.worker.concurrency", scaling.Data?.Value);

        // Reset key: the operators' own key, exhausted, is usable again.
        using var rateLimitChannel = OperatorChannel(app.GetEndpoint("ratelimit", "http"));
        var limiter = new RateLimiter.RateLimiterClient(rateLimitChannel);
        Assert.True((await limiter.CheckAsync(new CheckRequest { Policy = "chat", Key = "e2e", Cost = ChatLimit }, cancellationToken: ct)).Allowed);
        Assert.False((await limiter.CheckAsync(new CheckRequest { Policy = "chat", Key = "e2e" }, cancellationToken: ct)).Allowed);
        await RunAsync(app, "ratelimit", "reset-key", ct, ("policy", "chat"), ("key", "e2e"));
        Assert.True((await limiter.CheckAsync(new CheckRequest { Policy = "chat", Key = "e2e" }, cancellationToken: ct)).Allowed);
    }

    /// <summary>Runs a resource's command (on each of its replicas, when it has several).</summary>
    static async Task<ExecuteCommandResult> RunAsync(DistributedApplication app, string resource, string command, CancellationToken ct, params (string Name, string Value)[] arguments)
    {
        var inputs = new InteractionInputCollection(arguments.Select(a => new InteractionInput { Name = a.Name, InputType = InputType.Text, Value = a.Value }).ToList());
        var target = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource);
        var result = await app.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(target, command, inputs, ct);
        Assert.True(result.Success, $"{resource} {command}: {result.Message}");
        return result;
    }

    static GrpcChannel OperatorChannel(Uri address) => PlatformChannel.ForAddress(address, OperatorKey);

    /// <summary>The services want a key (the operator's works), and Redis wants its password.</summary>
    static async Task AssertAccessIsGuardedAsync(DistributedApplication app, CancellationToken ct)
    {
        var address = app.GetEndpoint("ratelimit", "http");
        using var anonymous = GrpcChannel.ForAddress(address);
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            new RateLimiter.RateLimiterClient(anonymous).ListPoliciesAsync(new ListPoliciesRequest(), cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

        using var asOperator = OperatorChannel(address);
        var policies = await new RateLimiter.RateLimiterClient(asOperator).ListPoliciesAsync(new ListPoliciesRequest(), cancellationToken: ct);
        Assert.Contains(policies.Policies, p => p.Name == "chat");

        var connectionString = await app.GetConnectionStringAsync("redis", ct);
        Assert.Contains(",password=", connectionString);
        using var withPassword = await ConnectionMultiplexer.ConnectAsync(connectionString!);
        await withPassword.GetDatabase().PingAsync();
        using var withoutPassword = await ConnectionMultiplexer.ConnectAsync(connectionString![..connectionString!.IndexOf(",password=", StringComparison.Ordinal)] + ",abortConnect=false,connectTimeout=2000");
        await Assert.ThrowsAnyAsync<RedisException>(() => withoutPassword.GetDatabase().PingAsync());
    }

    /// <summary>Half a second of a 440 Hz tone: 16 kHz, 16-bit mono WAV.</summary>
    static byte[] ToneWav()
    {
        const int rate = 16_000, samples = rate / 2;
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write("RIFF"u8); writer.Write(36 + samples * 2); writer.Write("WAVEfmt "u8);
        writer.Write(16); writer.Write((short)1); writer.Write((short)1); writer.Write(rate); writer.Write(rate * 2); writer.Write((short)2); writer.Write((short)16);
        writer.Write("data"u8); writer.Write(samples * 2);
        for (var i = 0; i < samples; i++)
        {
            writer.Write((short)(Math.Sin(2 * Math.PI * 440 * i / rate) * 16_000));
        }
        writer.Flush();
        return stream.ToArray();
    }

    static Task<HttpResponseMessage> AskAsync(HttpClient http, string question, CancellationToken ct) =>
        http.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"messages":[{"role":"user","content":"{{question}}"}]}""", Encoding.UTF8, "application/json"), ct);
}
