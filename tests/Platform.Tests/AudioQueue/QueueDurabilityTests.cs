using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using Platform.AudioQueue;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;
using Duration = Google.Protobuf.WellKnownTypes.Duration;

namespace Platform.Tests.AudioQueue;

/// <summary>
/// Accepted jobs survive a Redis restart with the append-only file on, as deployed (redis-server, or Garnet as the
/// AppHost runs it), in every state: queued, processing (the lease still holds for its worker, and still runs out
/// when its worker is gone), succeeded, failed, cancelled and dead. The queue's clock is fake, so leases and
/// backoffs run out when the test says.
/// </summary>
public sealed class QueueDurabilityTests : HostedTest
{
    static readonly ByteString Wav = ByteString.CopyFromUtf8("RIFF....WAVEfmt ");

    readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    /// <param name="crash">SIGKILL instead of SHUTDOWN: every acknowledged write already reached the append-only
    /// file (the operating system's cache), which a process crash does not lose.</param>
    [Theory]
    [InlineData("redis-server", false)]
    [InlineData("redis-server", true)]
    [InlineData("garnet", false)]
    public async Task Jobs_in_every_state_survive_a_redis_restart_and_a_lease_runs_out_after_it(string engine, bool crash)
    {
        using var redis = RestartableRedis.Create(engine, appendOnly: true);
        await redis.StartAsync();
        var channel = Track(ServiceHost.Start<AudioQueueService>(redis.Endpoint, services => services.Replace(ServiceDescriptor.Singleton(new QueueClock(time))),
            ("AudioQueue:Worker:Enabled", "false"), ("AudioQueue:MaxAttempts", "2"))).Channel();
        var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(channel);
        var worker = new AudioWorker.AudioWorkerClient(channel);
        async Task<string> EnqueueAsync(string tenant, string idempotencyKey = "") =>
            (await queue.EnqueueAsync(new EnqueueRequest
            {
                Audio = Wav, ContentType = "audio/wav", Tenant = tenant, IdempotencyKey = idempotencyKey, Priority = Priority.High, Metadata = { ["kept"] = tenant },
            })).JobId;
        async Task<Platform.AudioQueue.V1.LeasedJob> LeaseAsync(TimeSpan lease) =>
            (await worker.LeaseAsync(new LeaseRequest { WorkerId = "w", LeaseDuration = Duration.FromTimeSpan(lease) })).Jobs.Single();

        // One job per state, each leased as it is made (the queue is otherwise empty, so Lease takes that one).
        var succeeded = await EnqueueAsync("succeeded");
        var leased = await LeaseAsync(TimeSpan.FromMinutes(1));
        await worker.CompleteAsync(new CompleteRequest { JobId = succeeded, LeaseToken = leased.LeaseToken, Result = "kept", OutputAudio = Wav, OutputContentType = "audio/wav" });
        var failed = await EnqueueAsync("failed");
        leased = await LeaseAsync(TimeSpan.FromMinutes(1));
        await worker.FailAsync(new FailRequest { JobId = failed, LeaseToken = leased.LeaseToken, Error = "bad audio", Retryable = false });
        var dead = await EnqueueAsync("dead");
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            leased = await LeaseAsync(TimeSpan.FromMinutes(1));
            await worker.FailAsync(new FailRequest { JobId = dead, LeaseToken = leased.LeaseToken, Error = $"attempt {attempt} failed", Retryable = true });
            time.Advance(TimeSpan.FromMinutes(10)); // past the backoff
        }
        var cancelled = await EnqueueAsync("cancelled");
        await queue.CancelAsync(new CancelRequest { JobId = cancelled, Reason = "changed my mind" });
        var held = await EnqueueAsync("held");
        var heldLease = await LeaseAsync(TimeSpan.FromMinutes(1)); // its worker works on through the restart
        var abandoned = await EnqueueAsync("abandoned");
        var abandonedLease = await LeaseAsync(TimeSpan.FromSeconds(10)); // its worker dies during the restart
        var queued = await EnqueueAsync("queued", idempotencyKey: "kept-key");

        await redis.StopAsync(crash);
        await redis.StartAsync();

        Job Get(string id) => queue.GetJob(new GetJobRequest { JobId = id });
        Assert.True(await Eventually.TrueAsync(() =>
        {
            try
            {
                return Task.FromResult(Get(queued).State == JobState.Queued);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                return Task.FromResult(false); // the service is reconnecting
            }
        }));
        Assert.Equal((JobState.Succeeded, "kept"), (Get(succeeded).State, Get(succeeded).Result));
        Assert.Equal(Wav, (await queue.GetOutputAsync(new GetJobRequest { JobId = succeeded })).Audio);
        Assert.Equal((JobState.Failed, "bad audio"), (Get(failed).State, Get(failed).Error));
        Assert.Equal((JobState.Cancelled, "changed my mind"), (Get(cancelled).State, Get(cancelled).Error));
        Assert.Equal((JobState.Dead, 2u, "attempt 2 failed"), (Get(dead).State, Get(dead).Attempts, Get(dead).Error));
        Assert.Equal([dead], (await queue.ListDeadLettersAsync(new ListDeadLettersRequest())).Jobs.Select(j => j.Id));
        var waiting = Get(queued);
        Assert.Equal((Priority.High, "queued", 0u), (waiting.Priority, waiting.Metadata["kept"], waiting.Position));
        // The idempotency key survived too: the same enqueue again is that job.
        var again = await queue.EnqueueAsync(new EnqueueRequest { Audio = Wav, ContentType = "audio/wav", Tenant = "queued", IdempotencyKey = "kept-key" });
        Assert.Equal((queued, true), (again.JobId, again.Duplicate));

        // The lease held across the restart: its worker renews and completes with the token it had.
        Assert.Equal(JobState.Processing, Get(held).State);
        await worker.RenewAsync(new RenewRequest { JobId = held, LeaseToken = heldLease.LeaseToken, Progress = 0.5 });
        await worker.CompleteAsync(new CompleteRequest { JobId = held, LeaseToken = heldLease.LeaseToken, Result = "after the restart" });
        Assert.Equal(JobState.Succeeded, Get(held).State);

        // The abandoned lease is still in force until it runs out; then the job goes to the next worker, and the
        // dead worker's token no longer completes it.
        Assert.Equal(JobState.Processing, Get(abandoned).State);
        time.Advance(TimeSpan.FromSeconds(11));
        var redelivered = (await worker.LeaseAsync(new LeaseRequest { WorkerId = "w2", MaxJobs = 10 })).Jobs.Single(j => j.Job.Id == abandoned);
        Assert.Equal(2u, redelivered.Job.Attempts);
        var (stale, _) = await Rpc.FailureOf(() => worker.CompleteAsync(new CompleteRequest { JobId = abandoned, LeaseToken = abandonedLease.LeaseToken }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, stale);
        await worker.CompleteAsync(new CompleteRequest { JobId = abandoned, LeaseToken = redelivered.LeaseToken, Result = "redelivered" });
        Assert.Equal((JobState.Succeeded, "redelivered"), (Get(abandoned).State, Get(abandoned).Result));
        // A dead job can still be requeued after the restart.
        Assert.Equal(1u, (await queue.RequeueAsync(new RequeueRequest { JobId = dead })).Requeued);
        Assert.Equal(JobState.Queued, Get(dead).State);
    }
}
