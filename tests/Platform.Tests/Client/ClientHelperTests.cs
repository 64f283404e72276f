using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Platform.AudioQueue;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.Client;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;
using AudioQueueClient = Platform.AudioQueue.V1.AudioQueue.AudioQueueClient;
using CacheClient = Platform.Cache.V1.Cache.CacheClient;
using RateLimiterClient = Platform.RateLimit.V1.RateLimiter.RateLimiterClient;

namespace Platform.Tests.Client;

public sealed class ClientHelperTestsOnRedis(RedisServerFixture redis) : ClientHelperTests(redis), IClassFixture<RedisServerFixture>;
public sealed class ClientHelperTestsOnGarnet(GarnetFixture redis) : ClientHelperTests(redis), IClassFixture<GarnetFixture>;

/// <summary>The helpers for the common flows, each against its real service.</summary>
public abstract class ClientHelperTests(RedisFixture redis) : HostedTest
{
    static readonly ByteString Wav = ByteString.CopyFrom("RIFF....WAVEfmt "u8.ToArray());
    static readonly CacheEntryOptions FiveMinutes = new() { Ttl = TimeSpan.FromMinutes(5), Tags = ["user:7"] };

    T Client<T>(string service, string address) where T : class =>
        Track(ClientContainer.Build(new Dictionary<string, string?> { [$"Platform:Clients:{service}:Address"] = address })).GetRequiredService<T>();

    RateLimiterClient StartRateLimit() => Client<RateLimiterClient>("RateLimit", Start<RateLimiterService>(redis,
        ("RateLimit:Policies:client-tests:Algorithm", "FixedWindow"),
        ("RateLimit:Policies:client-tests:Limit", "2"),
        ("RateLimit:Policies:client-tests:Window", "00:01:00")).GrpcAddress.ToString());

    CacheClient StartCache() => Client<CacheClient>("Cache", Start<CacheService>(redis).GrpcAddress.ToString());

    async Task<(AudioQueueClient Queue, AudioWorker.AudioWorkerClient Worker)> StartAudioQueueAsync()
    {
        var host = Start<AudioQueueService>(redis, ("AudioQueue:Worker:Enabled", "false"));
        await redis.FlushAsync();
        var address = host.GrpcAddress.ToString();
        return (Client<AudioQueueClient>("AudioQueue", address), Client<AudioWorker.AudioWorkerClient>("AudioQueue", address));
    }

    static string NewKey() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task RunIfAllowed_runs_the_action_while_allowed_then_returns_the_denial_with_retry_after()
    {
        var limiter = StartRateLimit();
        var key = NewKey();
        var runs = 0;
        Task<int> Act(CancellationToken _) => Task.FromResult(++runs);

        var first = await limiter.RunIfAllowedAsync("client-tests", key, Act);
        var second = await limiter.RunIfAllowedAsync("client-tests", key, Act);
        var third = await limiter.RunIfAllowedAsync("client-tests", key, Act);
        var untyped = await limiter.RunIfAllowedAsync("client-tests", key, _ => { runs++; return Task.CompletedTask; });

        Assert.Equal([true, true, false, false], new[] { first.Allowed, second.Allowed, third.Allowed, untyped.Allowed });
        Assert.Equal([1, 2, 0], new[] { first.Value, second.Value, third.Value });
        Assert.Equal(2, runs);
        Assert.Equal(TimeSpan.Zero, first.RetryAfter);
        Assert.InRange(third.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        Assert.Equal(2u, third.Decision.Limit);
        Assert.Equal(0u, third.Decision.Remaining);
    }

    [Fact]
    public async Task RunIfAllowed_with_an_unknown_policy_throws_and_does_not_run_the_action()
    {
        var limiter = StartRateLimit();
        var ran = false;

        var (code, _) = await Rpc.FailureOf(() => limiter.RunIfAllowedAsync("no-such-policy", NewKey(), _ => { ran = true; return Task.FromResult(1); }));

        Assert.Equal(StatusCode.NotFound, code);
        Assert.False(ran);
    }

    [Fact]
    public async Task GetOrCreate_computes_and_fills_on_a_miss_then_hits()
    {
        var cache = StartCache();
        var key = NewKey();
        var computed = 0;
        Task<string> Compute(CancellationToken _) => Task.FromResult($"answer {++computed}");

        var miss = await cache.GetOrCreateAsync("client-tests", key, Compute, FiveMinutes);
        var hit = await cache.GetOrCreateAsync("client-tests", key, Compute, FiveMinutes);
        var stored = await cache.GetAsync(new GetRequest { Namespace = "client-tests", Key = key });

        Assert.Equal(new CachedValue<string>("answer 1", CacheValueSource.Filled), miss);
        Assert.Equal(new CachedValue<string>("answer 1", CacheValueSource.Hit), hit);
        Assert.Equal(1, computed);
        Assert.Equal("answer 1", stored.Value.ToStringUtf8());
        Assert.Equal(["user:7"], stored.Tags);
    }

    [Fact]
    public async Task GetOrCreate_computes_once_for_concurrent_callers()
    {
        var cache = StartCache();
        var ns = "single-flight-" + NewKey()[..8];
        var key = NewKey();
        var computing = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var computed = 0;
        async Task<ByteString> Compute(CancellationToken _)
        {
            Interlocked.Increment(ref computed);
            computing.TrySetResult();
            await release.Task;
            return ByteString.CopyFromUtf8("shared");
        }

        var first = cache.GetOrCreateAsync(ns, key, Compute, FiveMinutes);
        await computing.Task.WaitAsync(TestContext.Current.CancellationToken);
        var second = cache.GetOrCreateAsync(ns, key, Compute, FiveMinutes with { MaxWait = TimeSpan.FromSeconds(30) });
        // The second caller is waiting for the first one's Fill once the server counts its lease wait.
        Assert.True(await Eventually.TrueAsync(async () => (await cache.GetStatsAsync(new Platform.Cache.V1.GetStatsRequest { Namespace = ns })).LeaseWaits > 0));
        release.SetResult();

        Assert.Equal(CacheValueSource.Filled, (await first).Source);
        Assert.Equal(new CachedValue<ByteString>(ByteString.CopyFromUtf8("shared"), CacheValueSource.Hit), await second);
        Assert.Equal(1, computed);
    }

    [Fact]
    public async Task GetOrCreate_abandons_the_lease_when_the_factory_throws_so_the_next_caller_computes_at_once()
    {
        var cache = StartCache();
        var key = NewKey();

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            cache.GetOrCreateAsync("client-tests", key, _ => Task.FromException<string>(new InvalidOperationException("model down")), FiveMinutes));
        var next = await cache.LookupAsync(new LookupRequest { Namespace = "client-tests", Key = key, MaxWait = Duration.FromTimeSpan(TimeSpan.Zero) });

        // A lease still held would make this Lookup time out; given back, it is this caller's.
        Assert.Equal(LookupResponse.ResultOneofCase.Lease, next.ResultCase);
    }

    [Fact]
    public async Task GetOrCreate_computes_without_caching_when_another_caller_holds_the_lease_past_max_wait()
    {
        var cache = StartCache();
        var key = NewKey();
        var holder = await cache.LookupAsync(new LookupRequest { Namespace = "client-tests", Key = key });

        var result = await cache.GetOrCreateAsync("client-tests", key, _ => Task.FromResult("mine"), FiveMinutes with { MaxWait = TimeSpan.Zero });
        var stored = await cache.GetAsync(new GetRequest { Namespace = "client-tests", Key = key });

        Assert.Equal(LookupResponse.ResultOneofCase.Lease, holder.ResultCase);
        Assert.Equal(new CachedValue<string>("mine", CacheValueSource.Computed), result);
        Assert.False(stored.Found);
    }

    [Fact]
    public async Task EnqueueAndWatch_yields_the_job_until_it_is_final()
    {
        var (queue, worker) = await StartAudioQueueAsync();
        var request = new EnqueueRequest { Audio = Wav, ContentType = "audio/wav", Tenant = "client-tests" };
        var snapshots = new List<Job>();

        await foreach (var job in queue.EnqueueAndWatchAsync(request, TestContext.Current.CancellationToken))
        {
            snapshots.Add(job);
            if (snapshots.Count == 1)
            {
                var leased = (await worker.LeaseAsync(new LeaseRequest { WorkerId = "client-tests" })).Jobs.Single();
                await worker.CompleteAsync(new CompleteRequest { JobId = leased.Job.Id, LeaseToken = leased.LeaseToken, Result = "{\"ok\":true}" });
            }
        }

        Assert.Equal(JobState.Queued, snapshots[0].State);
        Assert.Equal(JobState.Succeeded, snapshots[^1].State);
        Assert.Equal("{\"ok\":true}", snapshots[^1].Result);
        Assert.Single(snapshots.Select(s => s.Id).Distinct());
    }

    [Fact]
    public async Task EnqueueAndWait_returns_the_final_job_and_reports_each_snapshot()
    {
        var (queue, worker) = await StartAudioQueueAsync();
        var reported = new List<Job>();
        var working = Task.Run(async () =>
        {
            var leased = (await worker.LeaseAsync(new LeaseRequest { WorkerId = "client-tests", MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)) })).Jobs.Single();
            await worker.FailAsync(new FailRequest { JobId = leased.Job.Id, LeaseToken = leased.LeaseToken, Error = "unreadable", Retryable = false });
        });

        var final = await queue.EnqueueAndWaitAsync(new EnqueueRequest { Audio = Wav, ContentType = "audio/wav" }, new SynchronousProgress(reported.Add));
        await working;

        Assert.Equal(JobState.Failed, final.State);
        Assert.Equal("unreadable", final.Error);
        Assert.Same(final, reported[^1]);
    }

    [Fact]
    public async Task Enqueue_without_an_idempotency_key_is_sent_with_one_of_its_own_and_still_makes_a_new_job_each_time()
    {
        var (queue, _) = await StartAudioQueueAsync();
        var request = new EnqueueRequest { Audio = Wav, ContentType = "audio/wav", Tenant = "client-tests" };

        var first = await queue.EnqueueAsync(request);
        var second = await queue.EnqueueAsync(request);
        var keys = await redis.Database.ExecuteAsync("KEYS", QueueKeys.Prefix + "idem:*");

        Assert.NotEqual(first.JobId, second.JobId);
        Assert.False(second.Duplicate);
        Assert.Equal("", request.IdempotencyKey); // the caller's message is not changed
        Assert.Equal(2, keys.Length);
    }

    /// <summary>Reports on the caller's thread, unlike <see cref="Progress{T}"/>, which posts to the thread pool.</summary>
    sealed class SynchronousProgress(Action<Job> report) : IProgress<Job>
    {
        public void Report(Job value) => report(value);
    }
}
