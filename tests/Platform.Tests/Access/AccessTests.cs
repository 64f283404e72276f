using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Support;
using CacheClient = Platform.Cache.V1.Cache.CacheClient;
using GetStatsRequest = Platform.Cache.V1.GetStatsRequest;
using ReleaseRequest = Platform.RateLimit.V1.ReleaseRequest;
using QueueClient = Platform.AudioQueue.V1.AudioQueue.AudioQueueClient;

namespace Platform.Tests.Access;

/// <summary>
/// Credentials, roles and team scoping on the real RateLimit, Cache and AudioQueue services: every RPC
/// needs a key, every admin RPC the admin role, and no team reaches another team's data.
/// </summary>
public sealed class AccessTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    static readonly TestCredential TeamA = new("team-a", "team-a", "team-a-key-0123456789", "user");
    static readonly TestCredential TeamB = new("team-b", "team-b", "team-b-key-0123456789", "user");
    static readonly TestCredential Operator = new("ops", "platform", "operator-key-0123456789", "user", "admin");
    static readonly TestCredential WorkerOnly = new("transcoder", "audio-workers", "worker-key-0123456789", "worker");
    static readonly TestCredential Unknown = new("nobody", "nobody", "not-a-configured-key-0123", "user");

    static readonly (string, string?)[] Settings =
    [
        .. TestCredentials.Settings(TeamA, TeamB, Operator, WorkerOnly),
        ("RateLimit:Policies:five:Limit", "5"),
        ("RateLimit:Policies:five:Window", "01:00:00"),
        ("RateLimit:Policies:uploads:Algorithm", "Concurrency"),
        ("RateLimit:Policies:uploads:Limit", "2"),
        ("AudioQueue:Worker:Enabled", "false"),
    ];

    readonly List<FakeLogCollector> logs = [];

    ServiceHost<TService> StartService<TService>(params (string, string?)[] extra) where TService : class
    {
        var host = Start<TService>(redis, services => services.AddFakeLogging(), [.. Settings, .. extra]);
        logs.Add(host.Services.GetFakeLogCollector());
        return host;
    }

    (ServiceHost<RateLimiterService> RateLimit, ServiceHost<CacheService> Cache, ServiceHost<AudioQueueService> Queue) StartAll() =>
        (StartService<RateLimiterService>(), StartService<CacheService>(), StartService<AudioQueueService>());

    [Fact]
    public async Task Every_rpc_refuses_a_call_without_a_key_or_with_an_unknown_key_while_probes_stay_open()
    {
        var (rateLimit, cache, queue) = StartAll();
        var services = new (Uri Address, ServiceDescriptor[] Services)[]
        {
            (rateLimit.GrpcAddress, [RateLimiter.Descriptor, Envoy.Service.RateLimit.V3.RateLimitService.Descriptor, Diagnostics.V1.Diagnostics.Descriptor]),
            (cache.GrpcAddress, [Platform.Cache.V1.Cache.Descriptor, Diagnostics.V1.Diagnostics.Descriptor]),
            (queue.GrpcAddress, [Platform.AudioQueue.V1.AudioQueue.Descriptor, AudioWorker.Descriptor, Diagnostics.V1.Diagnostics.Descriptor]),
        };

        var refused = new List<string>();
        foreach (var (address, descriptors) in services)
        {
            using var anonymous = GrpcChannel.ForAddress(address);
            using var unknown = TestCredentials.Channel(address, Unknown);
            foreach (var method in descriptors.SelectMany(d => d.Methods))
            {
                var missing = await CallFailureAsync(anonymous, method);
                var wrong = await CallFailureAsync(unknown, method);
                Assert.True(missing.StatusCode == StatusCode.Unauthenticated, $"{method.FullName} without a key: {missing.Status}");
                Assert.True(wrong.StatusCode == StatusCode.Unauthenticated, $"{method.FullName} with an unknown key: {wrong.Status}");
                Assert.Equal("API_KEY_MISSING", missing.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);
                Assert.Equal("API_KEY_INVALID", wrong.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);
                Assert.Contains("authorization: Bearer <key>", missing.Status.Detail);
                refused.Add(method.FullName);
            }
            // Probes and reflection need no key.
            var health = await new Health.HealthClient(anonymous).CheckAsync(new HealthCheckRequest());
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        }
        Assert.Contains("platform.audioqueue.v1.AudioQueue.WatchJob", refused);
        Assert.Contains("platform.diagnostics.v1.Diagnostics.GetScalingInfo", refused);
        // RateLimiter 6, Envoy 1, Cache 10, AudioQueue 11, AudioWorker 5, and Diagnostics' 2 on each of the three.
        Assert.Equal(6 + 1 + 10 + 11 + 5 + 3 * 2, refused.Count);
        AssertNoKeyWasLogged();
    }

    [Fact]
    public async Task Every_admin_rpc_needs_the_admin_role_and_each_admin_call_is_audited()
    {
        var (rateLimit, cache, queue) = StartAll();
        var adminRpcs = new[] { typeof(RateLimiterService), typeof(CacheService), typeof(AudioQueueService), typeof(AudioWorkerService) }
            .SelectMany(type => type.GetMethods().Where(m => m.GetCustomAttribute<AdminRpcAttribute>() is not null).Select(m => m.Name))
            .Order().ToList();
        Assert.Equal(["Clear", "ListDeadLetters", "Pause", "Requeue", "Reset", "Resume", "SetConcurrency"], adminRpcs);

        (Uri Address, MethodDescriptor Method)[] admin =
        [
            (rateLimit.GrpcAddress, RateLimiter.Descriptor.FindMethodByName("Reset")),
            (cache.GrpcAddress, Platform.Cache.V1.Cache.Descriptor.FindMethodByName("Clear")),
            .. new[] { "Pause", "Resume", "SetConcurrency", "ListDeadLetters", "Requeue" }
                .Select(name => (queue.GrpcAddress, Platform.AudioQueue.V1.AudioQueue.Descriptor.FindMethodByName(name))),
        ];
        foreach (var (address, method) in admin)
        {
            using var user = TestCredentials.Channel(address, TeamA);
            var denied = await CallFailureAsync(user, method);
            Assert.True(denied.StatusCode == StatusCode.PermissionDenied, $"{method.FullName} by a user: {denied.Status}");
            var info = denied.GetRpcStatus()?.GetDetail<ErrorInfo>();
            Assert.Equal("ROLE_REQUIRED", info?.Reason);
            Assert.Equal("admin", info?.Metadata["role"]);
        }
        Assert.Equal(7, Audit(9002).Count(r => r.Message.Contains("team team-a (credential team-a)")));

        // An admin call goes through and leaves who, what and the outcome.
        await new RateLimiter.RateLimiterClient(rateLimit.Channel(Operator)).ResetAsync(new ResetRequest { Policy = "five", Key = "k", Team = "team-b" });
        var record = Assert.Single(Audit(9001));
        Assert.Equal("platform", record.StructuredState!.Single(p => p.Key == "Team").Value);
        Assert.Equal("ops", record.StructuredState!.Single(p => p.Key == "Credential").Value);
        Assert.Equal("/platform.ratelimit.v1.RateLimiter/Reset", record.StructuredState!.Single(p => p.Key == "Rpc").Value);
        Assert.Contains("\"team\": \"team-b\"", record.StructuredState!.Single(p => p.Key == "Request").Value);
        Assert.Equal("OK", record.StructuredState!.Single(p => p.Key == "Outcome").Value);

        // A failing admin call is audited with its outcome too.
        await Assert.ThrowsAsync<RpcException>(() => new RateLimiter.RateLimiterClient(rateLimit.Channel(Operator))
            .ResetAsync(new ResetRequest { Policy = "missing", Key = "k" }).ResponseAsync);
        Assert.StartsWith("NotFound", Audit(9001).Last().StructuredState!.Single(p => p.Key == "Outcome").Value);
        AssertNoKeyWasLogged();
    }

    [Fact]
    public async Task Workers_need_the_worker_role_and_a_worker_key_cannot_produce_or_read_jobs()
    {
        var queue = StartService<AudioQueueService>();
        using var user = queue.Channel(TeamA);
        foreach (var method in AudioWorker.Descriptor.Methods)
        {
            var denied = await CallFailureAsync(user, method);
            Assert.True(denied.StatusCode == StatusCode.PermissionDenied, $"{method.FullName} by a user: {denied.Status}");
            Assert.Contains("worker", denied.Status.Detail);
        }

        // A worker leases any team's job, and sees whose it is.
        await redis.FlushAsync();
        var job = await new QueueClient(user).EnqueueAsync(Job("t"));
        var worker = new AudioWorker.AudioWorkerClient(queue.Channel(WorkerOnly));
        var leased = Assert.Single((await worker.LeaseAsync(new LeaseRequest { WorkerId = "w1", MaxJobs = 1 })).Jobs);
        Assert.Equal((job.JobId, "team-a"), (leased.Job.Id, leased.Job.Team));
        var (code, _) = await Rpc.FailureOf(() => new QueueClient(queue.Channel(WorkerOnly)).EnqueueAsync(Job("t")).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, code);
    }

    [Fact]
    public async Task Rate_limit_keys_belong_to_their_team()
    {
        var host = StartService<RateLimiterService>();
        var a = new RateLimiter.RateLimiterClient(host.Channel(TeamA));
        var b = new RateLimiter.RateLimiterClient(host.Channel(TeamB));
        var key = Guid.NewGuid().ToString();

        var check = new CheckRequest { Policy = "five", Key = key, Cost = 5 };
        Assert.True((await a.CheckAsync(check)).Allowed);
        Assert.False((await a.CheckAsync(new CheckRequest { Policy = "five", Key = key })).Allowed);
        var other = await b.CheckAsync(new CheckRequest { Policy = "five", Key = key });
        Assert.True(other.Allowed);
        Assert.Equal(4u, other.Remaining);
        Assert.True((await b.CheckManyAsync(new CheckManyRequest { Checks = { new CheckRequest { Policy = "five", Key = key } }, AllOrNothing = true })).Allowed);

        // Concurrency leases: A's are A's; B can neither see nor release them.
        var first = await a.AcquireAsync(new AcquireRequest { Policy = "uploads", Key = key });
        await a.AcquireAsync(new AcquireRequest { Policy = "uploads", Key = key });
        Assert.False((await a.AcquireAsync(new AcquireRequest { Policy = "uploads", Key = key })).Allowed);
        Assert.False((await b.ReleaseAsync(new ReleaseRequest { Policy = "uploads", Key = key, LeaseId = first.LeaseId })).Released);
        Assert.False((await a.AcquireAsync(new AcquireRequest { Policy = "uploads", Key = key })).Allowed);
        Assert.True((await b.AcquireAsync(new AcquireRequest { Policy = "uploads", Key = key })).Allowed);

        // Reset: only an admin reaches another team's key, naming the team.
        var (code, _) = await Rpc.FailureOf(() => b.ResetAsync(new ResetRequest { Policy = "five", Key = key, Team = "team-a" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, code);
        await new RateLimiter.RateLimiterClient(host.Channel(Operator)).ResetAsync(new ResetRequest { Policy = "five", Key = key, Team = "team-a" });
        Assert.Equal(4u, (await a.CheckAsync(new CheckRequest { Policy = "five", Key = key })).Remaining);
        Assert.Equal(2u, (await b.CheckAsync(new CheckRequest { Policy = "five", Key = key })).Remaining);
    }

    [Fact]
    public async Task Cache_namespaces_belong_to_their_team()
    {
        var host = StartService<CacheService>();
        var a = new CacheClient(host.Channel(TeamA));
        var b = new CacheClient(host.Channel(TeamB));
        const string ns = "shared";
        var key = Guid.NewGuid().ToString();
        var ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5));

        await a.SetAsync(new SetRequest { Namespace = ns, Key = key, Value = ByteString.CopyFromUtf8("a"), Ttl = ttl, Tags = { "t" } });
        Assert.True((await a.GetAsync(new GetRequest { Namespace = ns, Key = key })).Found);

        // B, naming the same namespace and key, reaches nothing of A's.
        Assert.False((await b.GetAsync(new GetRequest { Namespace = ns, Key = key })).Found);
        Assert.False((await b.GetManyAsync(new GetManyRequest { Namespace = ns, Keys = { key } })).Results.Single().Found);
        var bStats = await b.GetStatsAsync(new GetStatsRequest { Namespace = ns });
        Assert.Equal((0ul, 0ul), (bStats.Keys, bStats.Hits));
        var aStats = await a.GetStatsAsync(new GetStatsRequest { Namespace = ns });
        Assert.Equal((1ul, 1ul), (aStats.Keys, aStats.Hits));
        var (statsCode, _) = await Rpc.FailureOf(() => b.GetStatsAsync(new GetStatsRequest { Namespace = ns, Team = "team-a" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, statsCode);

        Assert.False((await b.DeleteAsync(new DeleteRequest { Namespace = ns, Key = key })).Deleted);
        await b.InvalidateTagsAsync(new InvalidateTagsRequest { Namespace = ns, Tags = { "t" } });
        await b.SetAsync(new SetRequest { Namespace = ns, Key = key, Value = ByteString.CopyFromUtf8("b"), Ttl = ttl });
        var lookup = await b.LookupAsync(new LookupRequest { Namespace = ns, Key = key + "-computed", MaxWait = new Duration() });
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, lookup.ResultCase);

        // A's lease token is useless to B: B's Fill lands on B's own key, whose lease B holds.
        var aLease = await a.LookupAsync(new LookupRequest { Namespace = ns, Key = key + "-computed", MaxWait = new Duration() });
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, aLease.ResultCase);
        var (fillCode, _) = await Rpc.FailureOf(() => b.FillAsync(new FillRequest
        {
            Namespace = ns, Key = key + "-computed", Token = aLease.Lease.Token, Value = ByteString.CopyFromUtf8("x"), Ttl = ttl,
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, fillCode);
        await a.FillAsync(new FillRequest { Namespace = ns, Key = key + "-computed", Token = aLease.Lease.Token, Value = ByteString.CopyFromUtf8("ca"), Ttl = ttl });

        var mine = await a.GetAsync(new GetRequest { Namespace = ns, Key = key });
        Assert.True(mine.Found);
        Assert.Equal("a", mine.Value.ToStringUtf8());
        Assert.Equal("ca", (await a.GetAsync(new GetRequest { Namespace = ns, Key = key + "-computed" })).Value.ToStringUtf8());
        Assert.Equal("b", (await b.GetAsync(new GetRequest { Namespace = ns, Key = key })).Value.ToStringUtf8());

        // Clear is an admin RPC; an operator names the team whose namespace to clear.
        var (clearCode, _) = await Rpc.FailureOf(() => a.ClearAsync(new ClearRequest { Namespace = ns }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, clearCode);
        var cleared = await new CacheClient(host.Channel(Operator)).ClearAsync(new ClearRequest { Namespace = ns, Team = "team-a" });
        Assert.Equal(2ul, cleared.Removed);
        Assert.False((await a.GetAsync(new GetRequest { Namespace = ns, Key = key })).Found);
        Assert.True((await b.GetAsync(new GetRequest { Namespace = ns, Key = key })).Found);
    }

    [Fact]
    public async Task Jobs_belong_to_their_team_and_another_teams_job_is_not_found()
    {
        var host = StartService<AudioQueueService>();
        var a = new QueueClient(host.Channel(TeamA));
        var b = new QueueClient(host.Channel(TeamB));

        var job = await a.EnqueueAsync(Job("t", idempotencyKey: "same"));
        var request = new GetJobRequest { JobId = job.JobId };
        var seen = await a.GetJobAsync(request);
        Assert.Equal(("team-a", "t"), (seen.Team, seen.Tenant));

        foreach (var call in new Func<Task>[]
        {
            () => b.GetJobAsync(request).ResponseAsync,
            () => b.CancelAsync(new CancelRequest { JobId = job.JobId }).ResponseAsync,
            () => b.GetOutputAsync(request).ResponseAsync,
            async () =>
            {
                using var watch = b.WatchJob(request);
                await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken);
            },
        })
        {
            var (code, _) = await Rpc.FailureOf(call);
            Assert.Equal(StatusCode.NotFound, code);
        }

        // Idempotency keys and tenants are per team: B's identical request is a new job of its own.
        var theirs = await b.EnqueueAsync(Job("t", idempotencyKey: "same"));
        Assert.False(theirs.Duplicate);
        Assert.NotEqual(job.JobId, theirs.JobId);
        Assert.True((await a.EnqueueAsync(Job("t", idempotencyKey: "same"))).Duplicate);

        // Operators see every team's jobs, and each such look is audited.
        var asOperator = await new QueueClient(host.Channel(Operator)).GetJobAsync(request);
        Assert.Equal(("team-a", JobState.Queued), (asOperator.Team, asOperator.State));
        var audited = Assert.Single(Audit(9001));
        Assert.Equal("/platform.audioqueue.v1.AudioQueue/GetJob", audited.StructuredState!.Single(p => p.Key == "Rpc").Value);
        Assert.Equal("platform", audited.StructuredState!.Single(p => p.Key == "Team").Value);
        Assert.Equal(JobState.Queued, (await a.GetJobAsync(request)).State);
    }

    [Fact]
    public async Task Anonymous_access_works_only_when_configured_and_is_announced()
    {
        var host = StartService<RateLimiterService>(("Auth:AllowAnonymous", "true"));
        using var anonymous = host.AnonymousChannel();
        var key = Guid.NewGuid().ToString();

        var decision = await new RateLimiter.RateLimiterClient(anonymous).CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 5 });
        Assert.True(decision.Allowed);
        Assert.Equal(5u, (await new RateLimiter.RateLimiterClient(host.Channel(TeamA)).CheckAsync(new CheckRequest { Policy = "five", Key = key, Cost = 0 })).Remaining);
        // Anonymous callers have the user role only, and a wrong key is refused even so.
        Assert.Equal(StatusCode.PermissionDenied, (await CallFailureAsync(anonymous, RateLimiter.Descriptor.FindMethodByName("Reset"))).StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, (await CallFailureAsync(host.Channel(Unknown), RateLimiter.Descriptor.FindMethodByName("Check"))).StatusCode);
        Assert.Contains(logs.Single().GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning && r.Message.Contains("Auth:AllowAnonymous is on"));
    }

    static EnqueueRequest Job(string tenant, string idempotencyKey = "") => new()
    {
        Audio = ByteString.CopyFrom("RIFF....WAVEfmt "u8.ToArray()), ContentType = "audio/wav", Tenant = tenant, IdempotencyKey = idempotencyKey,
    };

    IEnumerable<FakeLogRecord> Audit(int eventId) => logs.SelectMany(l => l.GetSnapshot()).Where(r => r.Id.Id == eventId);

    void AssertNoKeyWasLogged()
    {
        var keys = new[] { TeamA, TeamB, Operator, WorkerOnly, Unknown, TestCredentials.Tests }.Select(c => c.Key).ToList();
        var records = logs.SelectMany(l => l.GetSnapshot()).ToList();
        Assert.NotEmpty(records);
        Assert.DoesNotContain(records, r => keys.Any(key => r.Message.Contains(key) || r.StructuredState?.Any(p => p.Value?.Contains(key) == true) == true));
    }

    /// <summary>Calls any method with an empty request, whatever its types, and returns how it failed.</summary>
    static async Task<RpcException> CallFailureAsync(GrpcChannel channel, MethodDescriptor method)
    {
        var raw = Marshallers.Create(bytes => bytes, bytes => bytes);
        var invoker = channel.CreateCallInvoker();
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10));
        try
        {
            if (method.IsServerStreaming)
            {
                var streaming = new Method<byte[], byte[]>(MethodType.ServerStreaming, method.Service.FullName, method.Name, raw, raw);
                using var call = invoker.AsyncServerStreamingCall(streaming, null, options, []);
                await call.ResponseStream.MoveNext(CancellationToken.None);
            }
            else
            {
                var unary = new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, raw, raw);
                await invoker.AsyncUnaryCall(unary, null, options, []);
            }
        }
        catch (RpcException e)
        {
            return e;
        }
        throw new Xunit.Sdk.XunitException($"{method.FullName} answered an empty request");
    }
}
