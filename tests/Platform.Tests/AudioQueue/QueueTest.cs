using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using Platform.AudioQueue;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;

namespace Platform.Tests.AudioQueue;

/// <summary>
/// Starts the AudioQueue service on an empty queue, its built-in worker off, so the test plays the
/// workers. With a fake clock the queue's scripts run on it: leases, backoffs, aging and measured
/// processing times follow the test's Advance calls, not the wall clock.
/// </summary>
public abstract class QueueTest(RedisFixture redis) : HostedTest
{
    protected static readonly ByteString Wav = ByteString.CopyFrom("RIFF....WAVEfmt "u8.ToArray());

    protected RedisFixture Redis => redis;
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    protected Platform.AudioQueue.V1.AudioQueue.AudioQueueClient Queue { get; private set; } = null!;
    protected AudioWorker.AudioWorkerClient Worker { get; private set; } = null!;

    protected async Task StartAsync(bool fakeClock, params (string Key, string? Value)[] settings)
    {
        (string, string?)[] all = [("AudioQueue:Worker:Enabled", "false"), .. settings];
        var host = fakeClock
            ? Start<AudioQueueService>(redis, services => services.Replace(ServiceDescriptor.Singleton(new QueueClock(Time))), all)
            : Start<AudioQueueService>(redis, all);
        // Positions are global to the queue, so each test starts from an empty one.
        await redis.FlushAsync();
        var channel = host.Channel();
        Queue = new(channel);
        Worker = new(channel);
    }

    protected static EnqueueRequest Job(Priority priority = Priority.Normal, string tenant = "team-a", string idempotencyKey = "") => new()
    {
        Audio = Wav, ContentType = "audio/wav", Priority = priority, Tenant = tenant,
        IdempotencyKey = idempotencyKey, Metadata = { ["source"] = "test" },
    };

    protected Task<EnqueueResponse> EnqueueAsync(Priority priority = Priority.Normal, string tenant = "team-a") =>
        Queue.EnqueueAsync(Job(priority, tenant)).ResponseAsync;

    protected async Task<Platform.AudioQueue.V1.LeasedJob?> LeaseOneAsync(string worker = "worker-1", TimeSpan? leaseDuration = null) =>
        (await Worker.LeaseAsync(new LeaseRequest
        {
            WorkerId = worker,
            MaxJobs = 1,
            LeaseDuration = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(leaseDuration ?? TimeSpan.FromMinutes(1)),
        })).Jobs.SingleOrDefault();

    protected Task CompleteAsync(Platform.AudioQueue.V1.LeasedJob leased, string result = "{}") =>
        Worker.CompleteAsync(new CompleteRequest { JobId = leased.Job.Id, LeaseToken = leased.LeaseToken, Result = result }).ResponseAsync;

    protected Task<Job> GetAsync(string id) => Queue.GetJobAsync(new GetJobRequest { JobId = id }).ResponseAsync;
}
