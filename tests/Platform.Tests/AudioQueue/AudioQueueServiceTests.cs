using Google.Protobuf;
using Grpc.Core;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;

namespace Platform.Tests.AudioQueue;

public sealed class AudioQueueServiceTestsOnRedis(RedisServerFixture redis) : AudioQueueServiceTests(redis), IClassFixture<RedisServerFixture>;
public sealed class AudioQueueServiceTestsOnGarnet(GarnetFixture redis) : AudioQueueServiceTests(redis), IClassFixture<GarnetFixture>;

public abstract class AudioQueueServiceTests(RedisFixture redis) : HostedTest
{
    static readonly ByteString Wav = ByteString.CopyFrom("RIFF....WAVEfmt "u8.ToArray());

    async Task<Platform.AudioQueue.V1.AudioQueue.AudioQueueClient> StartClientAsync()
    {
        var host = Start<AudioQueueService>(redis, ("AudioQueue:MaxConcurrency", "2"), ("AudioQueue:TypicalJobDuration", "00:00:10"));
        // Positions are global to the queue, so each test starts from an empty one.
        await redis.FlushAsync();
        return new(host.Channel());
    }

    static EnqueueRequest Job(Priority priority = Priority.Normal, string idempotencyKey = "") => new()
    {
        Audio = Wav, ContentType = "audio/wav", Priority = priority, Tenant = "team-a",
        IdempotencyKey = idempotencyKey, Metadata = { ["source"] = "test" },
    };

    [Fact]
    public async Task Enqueued_job_is_queued_with_its_position_and_estimated_wait()
    {
        var client = await StartClientAsync();

        var first = await client.EnqueueAsync(Job());
        var second = await client.EnqueueAsync(Job());
        var third = await client.EnqueueAsync(Job());
        var job = await client.GetJobAsync(new GetJobRequest { JobId = third.JobId });

        Assert.Equal([0u, 1u, 2u], new[] { first.Position, second.Position, third.Position });
        // Two jobs ahead, two workers, ten seconds each: one round of work before this job starts.
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

        Assert.Equal(first.JobId, again.JobId);
        Assert.True(again.Duplicate);
        Assert.NotEqual(first.JobId, other.JobId);
        Assert.Equal(1u, other.Position); // the duplicate stored nothing new
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
        Assert.Equal(0, await redis.Database.SortedSetLengthAsync("aq:{audio}:queued"));
    }
}
