using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Net.Client;
using Platform.AudioQueue.V1;
using Platform.Cache.V1;
using Platform.Diagnostics.V1;
using Platform.RateLimit.V1;

namespace Platform.LoadTest;

/// <summary>The requests each scenario sends. Every operation returns a Sample; the driver times it.</summary>
public sealed class Scenarios : IDisposable
{
    static readonly string[] PopularQuestions = Enumerable.Range(1, 20).Select(i => $"Popular question number {i}: how does the platform scale?").ToArray();

    readonly LoadOptions options;
    readonly LoadMetrics metrics;
    readonly HttpClient http;
    readonly System.Collections.Concurrent.ConcurrentDictionary<long, HttpClient> userClients = new();
    readonly List<GrpcChannel> channels = [];
    readonly string run = Guid.NewGuid().ToString("N")[..8];
    readonly byte[] voice = SpeechLikeWav();

    public Scenarios(LoadOptions options, LoadMetrics metrics)
    {
        this.options = options;
        this.metrics = metrics;
        http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = options.ChatUrl,
            Timeout = TimeSpan.FromMinutes(2),
        };
        if (options.ApiKey is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    /// <summary>
    /// The surge gives every user a connection of its own (as separate browsers or apps would open); the other
    /// scenarios share a pool.
    /// </summary>
    HttpClient ClientOf(long number) => options.Scenario != "surge" ? http : userClients.GetOrAdd(number / 1_000_000, _ =>
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = options.ChatUrl, Timeout = http.Timeout };
        client.DefaultRequestHeaders.Authorization = http.DefaultRequestHeaders.Authorization;
        return client;
    });

    GrpcChannel Channel(Uri address)
    {
        var channel = PlatformChannel.ForAddress(address, options.PlatformKey, new GrpcChannelOptions
        {
            // Several HTTP/2 connections once one fills up, as a fleet of clients would open.
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        channels.Add(channel);
        return channel;
    }

    public Operation For(string scenario) => scenario switch
    {
        "chat" => Chat,
        "voice" => Voice,
        "mixed" => Mixed,
        "surge" => Chat,
        "ratelimit" => RateLimitCheck(),
        "cache" => CacheReadWrite(),
        _ => QueueEnqueue(),
    };

    /// <summary>The no-op RPC on the service the scenario targets: the baseline every ratio is against.</summary>
    public Operation Baseline(string scenario)
    {
        var target = scenario switch
        {
            "ratelimit" => options.RateLimitUrl,
            "cache" => options.CacheUrl,
            "queue" => options.QueueUrl,
            _ => options.ChatGrpcUrl,
        };
        var client = new Diagnostics.V1.Diagnostics.DiagnosticsClient(Channel(target));
        return async (_, ct) =>
        {
            await client.PingAsync(new PingRequest(), cancellationToken: ct);
            return Sample.Ok;
        };
    }

    /// <summary>Redis PING on its own connection, when --redis is given.</summary>
    public async Task<Operation?> RawRedisAsync()
    {
        if (options.Redis is null)
        {
            return null;
        }
        var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options.Redis);
        var database = redis.GetDatabase();
        return async (_, _) =>
        {
            await database.PingAsync();
            return Sample.Ok;
        };
    }

    async Task<Sample> Chat(long number, CancellationToken ct)
    {
        var random = new Random(unchecked((int)number));
        var question = random.NextDouble() < options.PopularShare
            ? PopularQuestions[random.Next(PopularQuestions.Length)]
            : $"User {number / 1_000_000} asks question {number % 1_000_000} ({run}): what happens under load?";
        var stream = random.NextDouble() < options.StreamShare;
        using var body = new StringContent(JsonSerializer.Serialize(new { stream, messages = new[] { new { role = "user", content = question } } }), Encoding.UTF8, "application/json");
        using var response = await ClientOf(number).SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = body }, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            return new Sample(RateLimited: true);
        }
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter?.Delta is { } retryAfter)
        {
            return new Sample(ShedRetryAfter: retryAfter);
        }
        if (!response.IsSuccessStatusCode)
        {
            return Sample.Failed($"HTTP {(int)response.StatusCode}");
        }
        var text = await response.Content.ReadAsStringAsync(ct);
        if (stream && !text.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal))
        {
            return Sample.Failed("stream cut off");
        }
        var cache = response.Headers.TryGetValues("X-Cache", out var values) ? values.First() : null;
        // Streams send headers before the answer exists, so only whole answers report the model's time.
        return new Sample(UpstreamMs: stream ? null : ModelTime(response), Cache: cache);
    }

    /// <summary>"model;dur=812.4" from ChatApi's Server-Timing header.</summary>
    static double? ModelTime(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Server-Timing", out var values)
        && values.First().Split("dur=") is [_, var ms]
        && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var duration)
            ? duration
            : null;

    /// <summary>Uploads a voice message and follows its events to the end; records the estimated vs the actual wait.</summary>
    async Task<Sample> Voice(long number, CancellationToken ct)
    {
        using var upload = new ByteArrayContent(voice);
        upload.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        using var accepted = await http.PostAsync("/v1/audio/messages", upload, ct);
        if (accepted.StatusCode == HttpStatusCode.TooManyRequests)
        {
            return new Sample(RateLimited: true);
        }
        if (accepted.StatusCode != HttpStatusCode.Accepted)
        {
            return Sample.Failed($"HTTP {(int)accepted.StatusCode}");
        }
        var queuedAt = DateTimeOffset.UtcNow;
        var message = await accepted.Content.ReadFromJsonAsync<JsonElement>(ct);
        var estimate = message.TryGetProperty("estimated_wait_seconds", out var wait) ? wait.GetDouble() : (double?)null;
        using var events = await http.GetAsync(accepted.Headers.Location + "/events", HttpCompletionOption.ResponseHeadersRead, ct);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync(ct));
        string? status = null;
        var started = false;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }
            using (var snapshot = JsonDocument.Parse(line[6..]))
            {
                status = snapshot.RootElement.GetProperty("status").GetString();
            }
            if (!started && status is "processing" or "succeeded" && estimate is { } estimated)
            {
                started = true;
                metrics.RecordQueueWait(TimeSpan.FromSeconds(estimated), DateTimeOffset.UtcNow - queuedAt);
            }
        }
        return status == "succeeded" ? Sample.Ok : Sample.Failed($"voice message {status ?? "lost"}");
    }

    Task<Sample> Mixed(long number, CancellationToken ct) =>
        (number / 1_000_000) % 100 < options.VoiceShare * 100 ? Voice(number, ct) : Chat(number, ct);

    Operation RateLimitCheck()
    {
        var client = new RateLimiter.RateLimiterClient(Channel(options.RateLimitUrl));
        return async (number, ct) =>
        {
            var reply = await client.CheckAsync(new CheckRequest { Policy = "api", Key = $"load-{number % 1000}" }, cancellationToken: ct);
            return reply.Allowed ? Sample.Ok : new Sample(RateLimited: true);
        };
    }

    /// <summary>Nine reads for every write over 1,000 keys of 1 KiB.</summary>
    Operation CacheReadWrite()
    {
        var client = new Cache.V1.Cache.CacheClient(Channel(options.CacheUrl));
        var value = ByteString.CopyFrom(new byte[1024]);
        return async (number, ct) =>
        {
            var key = $"k{number % 1000}";
            if (number % 10 == 0)
            {
                await client.SetAsync(new SetRequest { Namespace = "loadtest", Key = key, Value = value, Ttl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(10)) }, cancellationToken: ct);
                return Sample.Ok;
            }
            var reply = await client.GetAsync(new GetRequest { Namespace = "loadtest", Key = key }, cancellationToken: ct);
            return new Sample(Cache: reply.Found ? "HIT" : "MISS");
        };
    }

    /// <summary>Enqueues short voice clips; every tenth job is watched until a worker starts it (estimated vs actual wait).</summary>
    Operation QueueEnqueue()
    {
        var client = new AudioQueue.V1.AudioQueue.AudioQueueClient(Channel(options.QueueUrl));
        var audio = ByteString.CopyFrom(voice);
        return async (number, ct) =>
        {
            var queued = await client.EnqueueAsync(new EnqueueRequest { Audio = audio, ContentType = "audio/wav", Tenant = $"load-{number % 10}" }, cancellationToken: ct);
            if (number % 10 == 0 && queued.EstimatedWait is { } estimate)
            {
                _ = WatchUntilStartedAsync(client, queued.JobId, estimate.ToTimeSpan(), ct);
            }
            return Sample.Ok;
        };
    }

    async Task WatchUntilStartedAsync(AudioQueue.V1.AudioQueue.AudioQueueClient client, string jobId, TimeSpan estimate, CancellationToken ct)
    {
        try
        {
            using var watch = client.WatchJob(new GetJobRequest { JobId = jobId }, cancellationToken: ct);
            while (await watch.ResponseStream.MoveNext(ct))
            {
                var job = watch.ResponseStream.Current;
                if (job.StartedAt is { } started)
                {
                    metrics.RecordQueueWait(estimate, started.ToDateTimeOffset() - job.CreatedAt.ToDateTimeOffset());
                    return;
                }
            }
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or OperationCanceledException)
        {
            // The run ended first; this job's wait is not counted.
        }
    }

    /// <summary>Two bursts of a 300 Hz tone in silence, 16 kHz mono, about one second: small, and it has speech.</summary>
    static byte[] SpeechLikeWav()
    {
        const int rate = 16_000;
        var samples = new short[rate];
        for (var i = 0; i < samples.Length; i++)
        {
            var t = (double)i / rate;
            var voiced = t is > 0.1 and < 0.45 or > 0.6 and < 0.9;
            samples[i] = voiced ? (short)(Math.Sin(2 * Math.PI * 300 * t) * 12_000) : (short)0;
        }
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write("RIFF"u8); writer.Write(36 + samples.Length * 2); writer.Write("WAVEfmt "u8);
        writer.Write(16); writer.Write((short)1); writer.Write((short)1); writer.Write(rate); writer.Write(rate * 2); writer.Write((short)2); writer.Write((short)16);
        writer.Write("data"u8); writer.Write(samples.Length * 2);
        foreach (var sample in samples)
        {
            writer.Write(sample);
        }
        writer.Flush();
        return stream.ToArray();
    }

    public void Dispose()
    {
        http.Dispose();
        foreach (var client in userClients.Values)
        {
            client.Dispose();
        }
        foreach (var channel in channels)
        {
            channel.Dispose();
        }
    }
}
