using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.Tests.Support;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using Status = Google.Rpc.Status;

namespace Platform.Tests.Faults;

public sealed class BadInputSweepTestsOnRedis(RedisServerFixture redis) : BadInputSweepTests(redis), IClassFixture<RedisServerFixture>;
public sealed class BadInputSweepTestsOnGarnet(GarnetFixture redis) : BadInputSweepTests(redis), IClassFixture<GarnetFixture>;

/// <summary>
/// Bad input against every RPC the services serve (listed by server reflection, fields from the descriptors,
/// so a new RPC or field is swept without being named here): only clear errors come back, the services stay
/// up, and data written before the sweep reads back the same after it.
/// </summary>
public abstract partial class BadInputSweepTests(RedisFixture redis) : HostedTest
{
    static readonly Marshaller<byte[]> Raw = Marshallers.Create(bytes => bytes, bytes => bytes);

    /// <summary>Answers that would say the server, not the request, is at fault (or that it hung).</summary>
    static readonly StatusCode[] Forbidden =
    [
        StatusCode.Unknown, StatusCode.Internal, StatusCode.DataLoss, StatusCode.Unimplemented,
        StatusCode.DeadlineExceeded, StatusCode.Cancelled, StatusCode.Unavailable,
    ];

    /// <summary>RateLimit, Cache, AudioQueue (built-in worker off) and ChatApi on one Redis, with the policies the seeds name.</summary>
    protected sealed record Deployment(
        ServiceHost<RateLimiterService> RateLimit, ServiceHost<CacheService> Cache, ServiceHost<AudioQueueService> Queue, ChatApiHost Chat);

    protected Deployment StartPlatform(bool worker = false)
    {
        var envoyConfig = Path.Combine(Directory.CreateTempSubdirectory("sweep-envoy-").FullName, "sweep.yaml");
        File.WriteAllText(envoyConfig, """
            domain: sweep
            descriptors:
              - key: k
                rate_limit: {unit: hour, requests_per_unit: 1000}
            """);
        var rateLimit = Start<RateLimiterService>(redis,
            ("RateLimit:Envoy:ConfigPath", envoyConfig),
            ("RateLimit:Policies:sweep:Algorithm", "FixedWindow"), ("RateLimit:Policies:sweep:Limit", "100000"), ("RateLimit:Policies:sweep:Window", "01:00:00"),
            ("RateLimit:Policies:sweep-slots:Algorithm", "Concurrency"), ("RateLimit:Policies:sweep-slots:Limit", "5"),
            ("RateLimit:Policies:kept:Algorithm", "FixedWindow"), ("RateLimit:Policies:kept:Limit", "5"), ("RateLimit:Policies:kept:Window", "01:00:00"),
            ("RateLimit:Policies:chat:Limit", "100000"),
            ("RateLimit:Policies:audio:Limit", "100000"), ("RateLimit:Policies:audio:Burst", "100000"), ("RateLimit:Policies:audio-inflight:Limit", "100000"));
        var cache = Start<CacheService>(redis);
        var queue = Start<AudioQueueService>(redis, ("AudioQueue:Worker:Enabled", worker ? "true" : "false"));
        var chat = Track(ChatApiHost.Start(rateLimit.GrpcAddress.ToString(), cache.GrpcAddress.ToString(), new Dictionary<string, string?>
        {
            ["services:audioqueue:http:0"] = queue.GrpcAddress.ToString(),
        }));
        return new Deployment(rateLimit, cache, queue, chat);
    }

    /// <summary>Writes a cache entry, a rate-limit counter and a finished job; the returned check reads them back.</summary>
    protected async Task<Func<Task>> WriteKeptDataAsync(Deployment platform)
    {
        // The other sweep of this class may have run on this Redis: queued jobs, a paused queue.
        await redis.FlushAsync();
        var cache = new Platform.Cache.V1.Cache.CacheClient(platform.Cache.Channel());
        var limiter = new RateLimiter.RateLimiterClient(platform.RateLimit.Channel());
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(platform.Queue.Channel());
        var worker = new AudioWorker.AudioWorkerClient(platform.Queue.Channel());
        var value = ByteString.CopyFrom(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray());
        await cache.SetAsync(new SetRequest { Namespace = "kept", Key = "precious", Value = value, Ttl = Duration.FromTimeSpan(TimeSpan.FromHours(1)), Tags = { "kept-tag" } });
        var check = new CheckRequest { Policy = "kept", Key = "precious" };
        await limiter.CheckAsync(check);
        await limiter.CheckAsync(check);
        // A finished job: no sweep call (lease, cancel, requeue) may move it.
        var jobId = (await queue.EnqueueAsync(new EnqueueRequest { Audio = value, ContentType = "audio/wav", Tenant = "kept", Metadata = { ["who"] = "kept" } })).JobId;
        var leased = (await worker.LeaseAsync(new LeaseRequest { WorkerId = "kept-worker" })).Jobs.Single(j => j.Job.Id == jobId);
        await worker.CompleteAsync(new CompleteRequest { JobId = jobId, LeaseToken = leased.LeaseToken, Result = "{\"kept\":true}", OutputAudio = value, OutputContentType = "audio/wav" });

        return async () =>
        {
            var entry = await cache.GetAsync(new GetRequest { Namespace = "kept", Key = "precious" });
            Assert.True(entry.Found, "the cache entry written before the sweep is gone");
            Assert.Equal(value, entry.Value);
            Assert.Equal(["kept-tag"], entry.Tags);
            var third = await limiter.CheckAsync(check);
            Assert.True(third.Allowed);
            Assert.Equal(2u, third.Remaining); // two counted before the sweep, this one third
            var job = await queue.GetJobAsync(new GetJobRequest { JobId = jobId });
            Assert.Equal((JobState.Succeeded, "{\"kept\":true}", "kept", 1u), (job.State, job.Result, job.Metadata["who"], job.Attempts));
            Assert.Equal(value, (await queue.GetOutputAsync(new GetJobRequest { JobId = jobId })).Audio);
        };
    }

    protected static async Task AssertServingAsync(Deployment platform)
    {
        foreach (var channel in new[] { platform.RateLimit.Channel(), platform.Cache.Channel(), platform.Queue.Channel(), platform.Chat.GrpcChannel() })
        {
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status);
        }
        using var http = new HttpClient { BaseAddress = platform.Chat.HttpAddress };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task Every_rpc_answers_malformed_and_invalid_protobuf_with_a_clear_error_and_nothing_stored_is_damaged()
    {
        redis.RequireAvailable();
        var platform = StartPlatform();
        var verifyKept = await WriteKeptDataAsync(platform);
        var targets = new (string Name, GrpcChannel Channel)[]
        {
            ("RateLimit", platform.RateLimit.Channel()), ("Cache", platform.Cache.Channel()),
            ("AudioQueue", platform.Queue.Channel()), ("ChatApi", platform.Chat.GrpcChannel()),
        };

        var failures = new List<string>();
        var calls = 0;
        var swept = new HashSet<string>();
        foreach (var (name, channel) in targets)
        {
            var invoker = channel.CreateCallInvoker();
            var oversizeSent = false;
            foreach (var serviceName in await ListServicesAsync(channel))
            {
                if (!BadPayloads.KnownServices.TryGetValue(serviceName, out var service))
                {
                    failures.Add($"{name} serves {serviceName}, whose descriptor the sweep does not have: add its assembly to BadPayloads.KnownServices");
                    continue;
                }
                foreach (var method in service.Methods)
                {
                    var seeded = SweepSeeds.ByMessage.TryGetValue(method.InputType.FullName, out var seedMessage);
                    var seed = seedMessage?.ToByteArray() ?? [];
                    var payloads = BadPayloads.For(method.InputType, seed);
                    if (!oversizeSent && !method.IsClientStreaming)
                    {
                        payloads = payloads.Append(BadPayloads.Oversize(seed));
                        oversizeSent = true;
                    }
                    foreach (var payload in payloads)
                    {
                        calls++;
                        var (code, status) = await CallAsync(invoker, method, payload.Bytes);
                        if (Judge(payload, seeded, code, status) is { } problem)
                        {
                            failures.Add($"{name} {method.FullName} [{payload.Name}]: {code} {status?.Message} — {problem}");
                        }
                    }
                    swept.Add(method.FullName);
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} bad requests were not answered with a clear error:\n" + string.Join("\n", failures));
        // Every RPC in protos/ was reached: a service missing from reflection would otherwise be skipped silently.
        Assert.Empty(BadPayloads.KnownServices.Values.Where(s => !s.FullName.StartsWith("grpc.", StringComparison.Ordinal))
            .SelectMany(s => s.Methods).Select(m => m.FullName).Except(swept));
        await AssertServingAsync(platform);
        await verifyKept();
    }

    [Fact]
    public async Task Every_http_route_answers_malformed_json_wrong_types_bad_paths_and_oversize_bodies_with_a_4xx_and_nothing_stored_is_damaged()
    {
        redis.RequireAvailable();
        var platform = StartPlatform();
        var verifyKept = await WriteKeptDataAsync(platform);
        // RateLimit, Cache and AudioQueue: the JSON transcoding routes and everything else on the HTTP/1.1 port
        // (JSON bodies up to their gRPC message limit, 15 MiB at most, as base64); ChatApi: its HTTP API
        // (1 MiB chat bodies, 10 MiB voice messages). Oversize bodies stay under Kestrel's own 30 MB limit.
        var targets = new (string Name, IServiceProvider Services, HttpClient Http, int OversizeBytes)[]
        {
            ("RateLimit", platform.RateLimit.Services, Track(platform.RateLimit.JsonClient()), 25_000_000),
            ("Cache", platform.Cache.Services, Track(platform.Cache.JsonClient()), 25_000_000),
            ("AudioQueue", platform.Queue.Services, Track(platform.Queue.JsonClient()), 25_000_000),
            ("ChatApi", platform.Chat.Services, Track(new HttpClient { BaseAddress = platform.Chat.HttpAddress }), 11 * 1024 * 1024),
        };

        var failures = new List<string>();
        var requests = 0;
        foreach (var (name, services, http, oversizeBytes) in targets)
        {
            var oversizeSent = false;
            foreach (var route in HttpRoutes.Of(services))
            {
                foreach (var request in route.BadRequests())
                {
                    requests++;
                    var answer = await HttpRoutes.SendAsync(http, request);
                    if (HttpRoutes.Judge(request, answer) is { } problem)
                    {
                        failures.Add($"{name} {request.Method} {route.Template} [{request.Name}]: {answer.Status} {answer.Body[..Math.Min(answer.Body.Length, 300)]} — {problem}");
                    }
                }
                // One oversize route per service (tens of MB on the wire), and every ChatApi route, each with its own limit.
                if (route.TakesBody && (!oversizeSent || name == "ChatApi"))
                {
                    oversizeSent = true;
                    foreach (var oversize in route.Oversize(oversizeBytes))
                    {
                        requests++;
                        var answer = await HttpRoutes.SendAsync(http, oversize);
                        if (HttpRoutes.Judge(oversize, answer) is { } problem)
                        {
                            failures.Add($"{name} POST {route.Template} [{oversize.Name}]: {answer.Status} {answer.Body[..Math.Min(answer.Body.Length, 300)]} — {problem}");
                        }
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {requests} bad HTTP requests were not answered with a clear 4xx:\n" + string.Join("\n", failures));
        await AssertServingAsync(platform);
        await verifyKept();
    }

    /// <summary>Audio no decoder can read, each with what is wrong with it.</summary>
    static readonly (string What, string ContentType, byte[] Audio)[] UndecodableAudio =
    [
        ("text", "audio/wav", "this is not audio at all"u8.ToArray()),
        ("text", "audio/mpeg", "this is not audio at all"u8.ToArray()),
        ("a WAV header cut in the fmt chunk", "audio/wav", WavHeader(1, 1, 8_000, 16, 100)[..30]),
        ("a WAV with 0 channels", "audio/wav", [.. WavHeader(1, 0, 8_000, 16, 100), .. new byte[100]]),
        ("a WAV at 0 Hz", "audio/wav", [.. WavHeader(1, 1, 0, 16, 100), .. new byte[100]]),
        ("a WAV at 4 GHz", "audio/wav", [.. WavHeader(1, 1, unchecked((int)4_000_000_000), 16, 100), .. new byte[100]]),
        ("7-bit PCM", "audio/wav", [.. WavHeader(1, 1, 8_000, 7, 100), .. new byte[100]]),
        ("an unknown WAV encoding", "audio/wav", [.. WavHeader(0x55AA, 1, 8_000, 16, 100), .. new byte[100]]),
        ("a WAV with no samples", "audio/wav", WavHeader(1, 1, 8_000, 16, 0)),
        ("an ID3 tag and noise", "audio/mpeg", [.. "ID3"u8.ToArray(), 3, 0, 0, 0, 0, 0, 10, .. new byte[10], .. Enumerable.Range(0, 500).Select(i => (byte)(i * 37))]),
        ("a frame sync and noise", "audio/mpeg", [0xFF, 0xFB, 0x90, 0x64, .. Enumerable.Range(0, 2000).Select(i => (byte)(i * 91))]),
        ("a WAV sent as MPEG", "audio/mpeg", [.. WavHeader(1, 1, 8_000, 16, 100), .. new byte[100]]),
    ];

    static byte[] WavHeader(int encoding, int channels, int sampleRate, int bits, int dataBytes)
    {
        using var wav = new MemoryStream();
        using var w = new BinaryWriter(wav);
        w.Write("RIFF"u8);
        w.Write(36 + Math.Min(dataBytes, 1_000_000));
        w.Write("WAVEfmt "u8);
        w.Write(16);
        w.Write((ushort)encoding);
        w.Write((ushort)channels);
        w.Write(sampleRate);
        w.Write(sampleRate * channels * bits / 8);
        w.Write((ushort)(channels * bits / 8));
        w.Write((ushort)bits);
        w.Write("data"u8);
        w.Write(dataBytes);
        return wav.ToArray();
    }

    [Fact]
    public async Task Undecodable_audio_fails_at_once_with_a_clear_error_whether_queued_directly_or_sent_as_a_voice_message()
    {
        redis.RequireAvailable();
        var platform = StartPlatform(worker: true);
        // The RPC sweep of this class may have run on this Redis first, and paused the queue (Pause is an RPC too).
        await redis.FlushAsync();
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(platform.Queue.Channel());
        using var http = new HttpClient { BaseAddress = platform.Chat.HttpAddress };

        var sent = new List<(string What, string Job, string Message)>();
        foreach (var (what, contentType, audio) in UndecodableAudio)
        {
            var queued = (await queue.EnqueueAsync(new EnqueueRequest { Audio = ByteString.CopyFrom(audio), ContentType = contentType, Tenant = "undecodable" })).JobId;
            using var upload = new ByteArrayContent(audio) { Headers = { ContentType = new(contentType) } };
            using var uploaded = await http.PostAsync("/v1/audio/messages", upload, TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, uploaded.StatusCode);
            var message = JsonDocument.Parse(await uploaded.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("id").GetString()!;
            sent.Add((what, queued, message));
        }

        var failures = new List<string>();
        foreach (var (what, queued, message) in sent)
        {
            Job job = new();
            JsonElement voice = default;
            var finished = await Eventually.TrueAsync(async () =>
            {
                job = await queue.GetJobAsync(new GetJobRequest { JobId = queued });
                voice = JsonDocument.Parse(await http.GetStringAsync($"/v1/audio/messages/{message}")).RootElement;
                return job.State is not (JobState.Queued or JobState.Processing) && voice.GetProperty("status").GetString() is not ("queued" or "processing");
            });
            // FAILED on the first attempt (not retried as if the worker had broken), saying why; the same through ChatApi.
            if (!finished || job.State != JobState.Failed || job.Attempts != 1 || !ClearAudioError().IsMatch(job.Error)
                || voice.GetProperty("status").GetString() != "failed" || voice.GetProperty("attempts").GetUInt32() != 1 || voice.GetProperty("error").GetString() != job.Error)
            {
                failures.Add($"{what}: job {job.State} after {job.Attempts} attempt(s): '{job.Error}'; voice message {voice}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await AssertServingAsync(platform);
    }

    [System.Text.RegularExpressions.GeneratedRegex("could not be decoded|Unsupported|no samples|not MPEG|empty")]
    private static partial System.Text.RegularExpressions.Regex ClearAudioError();

    /// <summary>Why this answer to this payload is not a clear error; null when it is.</summary>
    static string? Judge(BadPayload payload, bool seeded, StatusCode code, Status? status)
    {
        if (Forbidden.Contains(code))
        {
            return "the server's fault or a hang, not the request's";
        }
        if (payload.Malformed)
        {
            return code == StatusCode.InvalidArgument && status?.GetDetail<ErrorInfo>()?.Reason == "MALFORMED_REQUEST"
                ? null
                : "bytes that are not a valid message must be INVALID_ARGUMENT with ErrorInfo MALFORMED_REQUEST";
        }
        if (code != StatusCode.InvalidArgument)
        {
            return null;
        }
        var fields = status?.GetDetail<Google.Rpc.BadRequest>()?.FieldViolations.Select(v => v.Field).ToList() ?? [];
        if (fields.Count == 0)
        {
            return "INVALID_ARGUMENT without a BadRequest naming the field";
        }
        // With a valid seed the targeted field is the only thing wrong, so it must be the one named.
        if (seeded && payload.Field is { } field && !fields.Any(f => f == field || f.StartsWith(field + "[", StringComparison.Ordinal) || f.StartsWith(field + ".", StringComparison.Ordinal)))
        {
            return $"the violations name {string.Join(", ", fields)}, not {field}";
        }
        return null;
    }

    static async Task<IReadOnlyList<string>> ListServicesAsync(GrpcChannel channel)
    {
        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(cancellationToken: TestContext.Current.CancellationToken);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        return call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
    }

    /// <summary>Sends raw bytes as the request of any kind of RPC; a stream counts as answered at its first message.</summary>
    static async Task<(StatusCode Code, Status? Details)> CallAsync(CallInvoker invoker, MethodDescriptor descriptor, byte[] payload)
    {
        var type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var method = new Method<byte[], byte[]>(type, descriptor.Service.FullName, descriptor.Name, Raw, Raw);
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(15), cancellationToken: TestContext.Current.CancellationToken);
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    await invoker.AsyncUnaryCall(method, null, options, payload);
                    break;
                case MethodType.ServerStreaming:
                {
                    using var call = invoker.AsyncServerStreamingCall(method, null, options, payload);
                    await call.ResponseStream.MoveNext();
                    break;
                }
                case MethodType.ClientStreaming:
                {
                    using var call = invoker.AsyncClientStreamingCall(method, null, options);
                    await call.RequestStream.WriteAsync(payload);
                    await call.RequestStream.CompleteAsync();
                    await call.ResponseAsync;
                    break;
                }
                default:
                {
                    using var call = invoker.AsyncDuplexStreamingCall(method, null, options);
                    await call.RequestStream.WriteAsync(payload);
                    await call.RequestStream.CompleteAsync();
                    await call.ResponseStream.MoveNext();
                    break;
                }
            }
            return (StatusCode.OK, null);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.GetRpcStatus() ?? new Status { Code = (int)e.StatusCode, Message = e.Status.Detail });
        }
    }
}
