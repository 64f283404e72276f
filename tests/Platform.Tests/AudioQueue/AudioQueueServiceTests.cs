using Google.Protobuf;
using Grpc.Core;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;

namespace Platform.Tests.AudioQueue;

public sealed class AudioQueueServiceTestsOnRedis(RedisServerFixture redis) : AudioQueueServiceTests(redis), IClassFixture<RedisServerFixture>;
public sealed class AudioQueueServiceTestsOnGarnet(GarnetFixture redis) : AudioQueueServiceTests(redis), IClassFixture<GarnetFixture>;
public sealed class AudioQueueServiceTestsOnRedisCluster(RedisClusterFixture redis) : AudioQueueServiceTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>The producer and operator side: Enqueue, GetJob, WatchJob, Cancel, limits, stats.</summary>
public abstract class AudioQueueServiceTests(RedisFixture redis) : QueueTest(redis)
{
    async Task<Platform.AudioQueue.V1.AudioQueue.AudioQueueClient> StartClientAsync(params (string Key, string? Value)[] settings)
    {
        await StartAsync(fakeClock: false, [("AudioQueue:MaxConcurrency", "2"), ("AudioQueue:TypicalJobDuration", "00:00:10"), .. settings]);
        return Queue;
    }

    [Fact]
    public async Task Enqueued_job_is_queued_with_its_position_and_estimated_wait()
    {
        var client = await StartClientAsync();

        var first = await client.EnqueueAsync(Job());
        var second = await client.EnqueueAsync(Job());
        var third = await client.EnqueueAsync(Job());
        var job = await client.GetJobAsync(new GetJobRequest { JobId = third.JobId });

        Assert.Equal([0u, 1u, 2u], new[] { first.Position, second.Position, third.Position });
        // Two jobs ahead, two free slots, ten seconds a job: one round of work before this job starts.
        Assert.Equal(TimeSpan.FromSeconds(10), third.EstimatedWait.ToTimeSpan());
        Assert.False(third.Duplicate);
        Assert.Equal(JobState.Queued, job.State);
        Assert.Equal(2u, job.Position);
        Assert.Equal(Priority.Normal, job.Priority);
        Assert.Equal("team-a", job.Tenant);
        Assert.Equal("audio/wav", job.ContentType);
        Assert.Equal((ulong)Wav.Length, job.AudioBytes);
        Assert.Equal("test", job.Metadata["source"]);
        Assert.NotNull(job.CreatedAt);
    }

    [Fact]
    public async Task Higher_priority_jobs_go_ahead_fifo_within_a_priority()
    {
        var client = await StartClientAsync();

        var low = await client.EnqueueAsync(Job(Priority.Low));
        var normal = await client.EnqueueAsync(Job(Priority.Normal));
        var urgent = await client.EnqueueAsync(Job(Priority.Urgent));
        var secondUrgent = await client.EnqueueAsync(Job(Priority.Urgent));

        async Task<uint> PositionOf(string id) => (await client.GetJobAsync(new GetJobRequest { JobId = id })).Position;
        Assert.Equal(0u, urgent.Position);
        Assert.Equal(1u, secondUrgent.Position);
        Assert.Equal(0u, await PositionOf(urgent.JobId));
        Assert.Equal(1u, await PositionOf(secondUrgent.JobId));
        Assert.Equal(2u, await PositionOf(normal.JobId));
        Assert.Equal(3u, await PositionOf(low.JobId));
    }

    [Fact]
    public async Task Same_idempotency_key_returns_the_first_job()
    {
        var client = await StartClientAsync();

        var first = await client.EnqueueAsync(Job(idempotencyKey: "upload-42"));
        var again = await client.EnqueueAsync(Job(idempotencyKey: "upload-42"));
        var other = await client.EnqueueAsync(Job(idempotencyKey: "upload-43"));
        var otherTenant = await client.EnqueueAsync(Job(tenant: "team-b", idempotencyKey: "upload-42"));

        Assert.Equal(first.JobId, again.JobId);
        Assert.True(again.Duplicate);
        Assert.NotEqual(first.JobId, other.JobId);
        Assert.Equal(1u, other.Position); // the duplicate stored nothing new
        Assert.NotEqual(first.JobId, otherTenant.JobId); // keys are per tenant
        Assert.False(otherTenant.Duplicate);
    }

    [Fact]
    public async Task Bad_input_is_rejected_with_the_fields_named()
    {
        var client = await StartClientAsync();

        var (emptyCode, emptyDetails) = await Rpc.FailureOf(() => client.EnqueueAsync(new EnqueueRequest { ContentType = "text/plain", Priority = (Priority)99 }).ResponseAsync);
        var (bigCode, bigDetails) = await Rpc.FailureOf(() => client.EnqueueAsync(new EnqueueRequest
        {
            Audio = ByteString.CopyFrom(new byte[10 * 1024 * 1024 + 1]), ContentType = "audio/mpeg",
        }).ResponseAsync);
        var (idCode, idDetails) = await Rpc.FailureOf(() => client.GetJobAsync(new GetJobRequest { JobId = "not-a-uuid" }).ResponseAsync);
        var (missingCode, _) = await Rpc.FailureOf(() => client.GetJobAsync(new GetJobRequest { JobId = Guid.NewGuid().ToString() }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, emptyCode);
        Assert.Equal(["audio", "content_type", "priority"], emptyDetails.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, bigCode);
        Assert.Equal(["audio"], bigDetails.ViolatedFields());
        Assert.Equal(StatusCode.InvalidArgument, idCode);
        Assert.Equal(["job_id"], idDetails.ViolatedFields());
        Assert.Equal(StatusCode.NotFound, missingCode);
        Assert.Equal(0, await Redis.Database.SortedSetLengthAsync("aq:{audio}:waiting"));
    }

    [Fact]
    public async Task Cancel_takes_a_queued_job_out_of_line_and_refuses_a_finished_one()
    {
        var client = await StartClientAsync();
        var first = await client.EnqueueAsync(Job());
        var second = await client.EnqueueAsync(Job());

        var cancelled = await client.CancelAsync(new CancelRequest { JobId = first.JobId, Reason = "user left" });
        var (againCode, againDetails) = await Rpc.FailureOf(() => client.CancelAsync(new CancelRequest { JobId = first.JobId }).ResponseAsync);
        var (missingCode, _) = await Rpc.FailureOf(() => client.CancelAsync(new CancelRequest { JobId = Guid.NewGuid().ToString() }).ResponseAsync);

        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Equal("user left", cancelled.Error);
        Assert.NotNull(cancelled.FinishedAt);
        Assert.Equal(0u, (await GetAsync(second.JobId)).Position);
        Assert.Equal(StatusCode.FailedPrecondition, againCode);
        Assert.Contains("CANCELLED", againDetails!.Message);
        Assert.Equal(StatusCode.NotFound, missingCode);
        Assert.Equal(1ul, (await client.GetStatsAsync(new GetStatsRequest())).Depth);
    }

    [Fact]
    public async Task A_full_queue_refuses_before_storing_with_a_retry_delay()
    {
        var client = await StartClientAsync(("AudioQueue:MaxDepth", "3"));
        for (var i = 0; i < 3; i++)
        {
            await client.EnqueueAsync(Job());
        }

        var (code, details) = await Rpc.FailureOf(() => client.EnqueueAsync(Job()).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, code);
        Assert.True(details!.GetDetail<Google.Rpc.RetryInfo>().RetryDelay.ToTimeSpan() >= TimeSpan.FromSeconds(1));
        Assert.Equal("queue", details.GetDetail<Google.Rpc.QuotaFailure>().Violations.Single().Subject);
        Assert.Contains("would wait about", details.Message);
        Assert.Equal(3ul, (await client.GetStatsAsync(new GetStatsRequest())).Depth);
        Assert.Equal(3, Redis.Keys("aq:{audio}:audio:*").Count);
    }

    [Fact]
    public async Task A_tenant_at_its_depth_limit_is_refused_while_others_are_accepted()
    {
        var client = await StartClientAsync(("AudioQueue:MaxDepthPerTenant", "2"));
        await client.EnqueueAsync(Job(tenant: "busy"));
        await client.EnqueueAsync(Job(tenant: "busy"));

        var (code, details) = await Rpc.FailureOf(() => client.EnqueueAsync(Job(tenant: "busy")).ResponseAsync);
        var other = await client.EnqueueAsync(Job(tenant: "quiet"));

        Assert.Equal(StatusCode.ResourceExhausted, code);
        Assert.Equal("tenant:busy", details!.GetDetail<Google.Rpc.QuotaFailure>().Violations.Single().Subject);
        Assert.False(string.IsNullOrEmpty(other.JobId));
    }

    [Fact]
    public async Task WatchJob_streams_position_progress_and_result_then_ends()
    {
        var client = await StartClientAsync();
        var ahead = await client.EnqueueAsync(Job());
        var watched = await client.EnqueueAsync(Job());
        using var watch = client.WatchJob(new GetJobRequest { JobId = watched.JobId });
        var snapshots = new List<Job>();
        async Task<Job> NextAsync()
        {
            Assert.True(await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
            snapshots.Add(watch.ResponseStream.Current);
            return watch.ResponseStream.Current;
        }

        Assert.Equal(1u, (await NextAsync()).Position);
        var first = (await Worker.LeaseAsync(new LeaseRequest { WorkerId = "w" })).Jobs.Single();
        Assert.Equal(ahead.JobId, first.Job.Id);
        Assert.Equal(0u, (await NextAsync()).Position);
        var mine = (await Worker.LeaseAsync(new LeaseRequest { WorkerId = "w" })).Jobs.Single();
        Assert.Equal(JobState.Processing, (await NextAsync()).State);
        await Worker.RenewAsync(new RenewRequest { JobId = mine.Job.Id, LeaseToken = mine.LeaseToken, Progress = 0.5 });
        Assert.Equal(0.5, (await NextAsync()).Progress);
        await CompleteAsync(mine, """{"text":"hi"}""");
        var last = await NextAsync();

        Assert.Equal(JobState.Succeeded, last.State);
        Assert.Equal("""{"text":"hi"}""", last.Result);
        Assert.False(await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Stats_report_depth_per_priority_throughput_and_processing_times()
    {
        await StartAsync(fakeClock: true, ("AudioQueue:MaxConcurrency", "2"));
        var client = Queue;
        await client.EnqueueAsync(Job(Priority.Urgent));
        await client.EnqueueAsync(Job(Priority.Low));
        await client.EnqueueAsync(Job(Priority.Low));
        var leased = (await Worker.LeaseAsync(new LeaseRequest { WorkerId = "w" })).Jobs.Single();
        Time.Advance(TimeSpan.FromSeconds(3));
        await CompleteAsync(leased);

        var stats = await client.GetStatsAsync(new GetStatsRequest());

        Assert.Equal(2ul, stats.Depth);
        Assert.Equal([Priority.Urgent, Priority.High, Priority.Normal, Priority.Low], stats.Priorities.Select(p => p.Priority));
        Assert.Equal([0ul, 0ul, 0ul, 2ul], stats.Priorities.Select(p => p.Depth));
        // Two LOW jobs wait; a new URGENT job would go first, a new LOW job third.
        Assert.True(stats.Priorities[0].EstimatedWait.ToTimeSpan() < stats.Priorities[3].EstimatedWait.ToTimeSpan());
        Assert.Equal(0ul, stats.Processing);
        Assert.Equal(2u, stats.MaxConcurrency);
        Assert.Equal(1ul, stats.SucceededLastMinute);
        Assert.Equal(TimeSpan.FromSeconds(3), stats.ProcessingTimeP50.ToTimeSpan());
        Assert.Equal(TimeSpan.FromSeconds(3), stats.AverageProcessingTime.ToTimeSpan());
        Assert.NotNull(stats.OldestQueuedAge);
        Assert.False(stats.Paused);
    }
}
