using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;

namespace Platform.Tests.AudioQueue;

public sealed class AudioWorkerTestsOnRedis(RedisServerFixture redis) : AudioWorkerTests(redis), IClassFixture<RedisServerFixture>;
public sealed class AudioWorkerTestsOnGarnet(GarnetFixture redis) : AudioWorkerTests(redis), IClassFixture<GarnetFixture>;
public sealed class AudioWorkerTestsOnRedisCluster(RedisClusterFixture redis) : AudioWorkerTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>The worker side and the scheduler: the test plays the workers, on the queue's fake clock.</summary>
public abstract class AudioWorkerTests(RedisFixture redis) : QueueTest(redis)
{
    Task StartAsync(params (string Key, string? Value)[] settings) =>
        StartAsync(fakeClock: true, [("AudioQueue:MaxConcurrency", "1"), ("AudioQueue:TypicalJobDuration", "00:00:01"), .. settings]);

    [Fact]
    public async Task Workers_get_jobs_by_priority_then_fifo()
    {
        await StartAsync(("AudioQueue:MaxConcurrency", "10"));
        var low = await EnqueueAsync(Priority.Low);
        var normal = await EnqueueAsync();
        var urgent = await EnqueueAsync(Priority.Urgent);
        var secondNormal = await EnqueueAsync();

        var leased = await Worker.LeaseAsync(new LeaseRequest { WorkerId = "w", MaxJobs = 10 });

        Assert.Equal([urgent.JobId, normal.JobId, secondNormal.JobId, low.JobId], leased.Jobs.Select(j => j.Job.Id));
        Assert.All(leased.Jobs, j => Assert.Equal(JobState.Processing, j.Job.State));
        Assert.All(leased.Jobs, j => Assert.Equal(1u, j.Job.Attempts));
        Assert.All(leased.Jobs, j => Assert.Equal(Wav, j.Audio));
        Assert.Equal(4, leased.Jobs.Select(j => j.LeaseToken).Distinct().Count());
    }

    [Fact]
    public async Task Aging_lets_a_low_job_through_a_steady_stream_of_urgent_ones()
    {
        await StartAsync(("AudioQueue:AgingStep", "00:00:10"));
        var low = await EnqueueAsync(Priority.Low, tenant: "batch");

        int? lowLeasedAtSecond = null;
        for (var second = 0; second < 60 && lowLeasedAtSecond is null; second++)
        {
            await EnqueueAsync(Priority.Urgent, tenant: "live");
            var leased = (await LeaseOneAsync())!;
            if (leased.Job.Id == low.JobId)
            {
                lowLeasedAtSecond = second;
            }
            Time.Advance(TimeSpan.FromSeconds(1));
            await CompleteAsync(leased);
        }

        // Three levels below URGENT at 10 s a level: level with the stream after about 30 s of waiting.
        Assert.NotNull(lowLeasedAtSecond);
        Assert.InRange(lowLeasedAtSecond.Value, 25, 35);
    }

    [Fact]
    public async Task One_tenants_burst_does_not_hold_up_another_tenant()
    {
        await StartAsync();
        for (var i = 0; i < 20; i++)
        {
            await EnqueueAsync(tenant: "bulk");
        }
        var small = new[] { await EnqueueAsync(tenant: "small"), await EnqueueAsync(tenant: "small") };

        var order = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var leased = (await LeaseOneAsync())!;
            order.Add(leased.Job.Tenant);
            await CompleteAsync(leased);
        }

        Assert.All(small, job => Assert.True(job.Position <= 3, $"position {job.Position}"));
        Assert.Equal(2, order.Count(t => t == "small"));
    }

    [Fact]
    public async Task A_tenant_of_weight_three_gets_three_turns_for_each_of_a_tenant_of_weight_one()
    {
        await StartAsync(("AudioQueue:TenantWeights:tests/gold", "3"));
        for (var i = 0; i < 12; i++)
        {
            await EnqueueAsync(tenant: "gold");
            await EnqueueAsync(tenant: "basic");
        }

        var order = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var leased = (await LeaseOneAsync())!;
            order.Add(leased.Job.Tenant);
            await CompleteAsync(leased);
        }

        Assert.InRange(order.Count(t => t == "gold"), 5, 7);
    }

    [Fact]
    public async Task A_tenant_at_its_processing_limit_is_skipped_for_others()
    {
        await StartAsync(("AudioQueue:MaxConcurrency", "10"), ("AudioQueue:MaxProcessingPerTenant", "1"));
        await EnqueueAsync(tenant: "a");
        await EnqueueAsync(tenant: "a");
        await EnqueueAsync(tenant: "a");
        await EnqueueAsync(tenant: "b");

        var leased = await Worker.LeaseAsync(new LeaseRequest { WorkerId = "w", MaxJobs = 10 });

        Assert.Equal(["a", "b"], leased.Jobs.Select(j => j.Job.Tenant).Order());
    }

    [Fact]
    public async Task The_global_concurrency_limit_holds_across_racing_workers()
    {
        await StartAsync(fakeClock: false, ("AudioQueue:MaxConcurrency", "2"));
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add((await EnqueueAsync(tenant: $"t{i % 3}")).JobId);
        }
        var processing = 0;
        var maxSeen = 0;

        var workers = Enumerable.Range(0, 5).Select(w => Task.Run(async () =>
        {
            while ((await Queue.GetStatsAsync(new GetStatsRequest())).Depth > 0)
            {
                var lease = await Worker.LeaseAsync(new LeaseRequest { WorkerId = $"w{w}", MaxJobs = 2, MaxWait = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200)) });
                foreach (var job in lease.Jobs)
                {
                    var now = Interlocked.Increment(ref processing);
                    InterlockedMax(ref maxSeen, now);
                    await Task.Yield();
                    Interlocked.Decrement(ref processing);
                    await CompleteAsync(job);
                }
            }
        })).ToList();
        await Task.WhenAll(workers);

        Assert.InRange(maxSeen, 1, 2);
        foreach (var id in ids)
        {
            Assert.Equal(JobState.Succeeded, (await GetAsync(id)).State);
        }
    }

    static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    [Fact]
    public async Task An_expired_lease_redelivers_the_job_and_the_old_token_is_refused()
    {
        await StartAsync();
        var id = (await EnqueueAsync()).JobId;
        var first = (await LeaseOneAsync("worker-1", TimeSpan.FromSeconds(5)))!;

        Time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync(id)).State == JobState.Queued));
        var second = (await LeaseOneAsync("worker-2"))!;
        var (renewCode, _) = await Rpc.FailureOf(() => Worker.RenewAsync(new RenewRequest { JobId = id, LeaseToken = first.LeaseToken, Progress = 0.5 }).ResponseAsync);
        var (completeCode, completeDetails) = await Rpc.FailureOf(() => CompleteAsync(first));
        await CompleteAsync(second, "second");
        await CompleteAsync(second, "second"); // a retry of a call that worked (e.g. after a timeout) is OK

        Assert.Equal(id, second.Job.Id);
        Assert.Equal(2u, second.Job.Attempts);
        Assert.NotEqual(first.LeaseToken, second.LeaseToken);
        Assert.Equal(StatusCode.FailedPrecondition, renewCode);
        Assert.Equal(StatusCode.FailedPrecondition, completeCode);
        Assert.Equal("LEASE", completeDetails!.GetDetail<Google.Rpc.PreconditionFailure>().Violations.Single().Type);
        var job = await GetAsync(id);
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal("second", job.Result);
    }

    [Fact]
    public async Task Renew_keeps_the_lease_past_its_first_deadline()
    {
        await StartAsync();
        var id = (await EnqueueAsync()).JobId;
        var leased = (await LeaseOneAsync("worker-1", TimeSpan.FromSeconds(5)))!;

        for (var i = 0; i < 4; i++)
        {
            Time.Advance(TimeSpan.FromSeconds(3));
            await Worker.RenewAsync(new RenewRequest { JobId = id, LeaseToken = leased.LeaseToken, Progress = i / 4.0 });
        }
        await CompleteAsync(leased);

        Assert.Equal(JobState.Succeeded, (await GetAsync(id)).State);
        Assert.Equal(1u, (await GetAsync(id)).Attempts);
    }

    [Fact]
    public async Task Retryable_failures_back_off_then_go_to_the_dead_letters_and_can_be_requeued()
    {
        await StartAsync(("AudioQueue:MaxAttempts", "3"), ("AudioQueue:RetryBaseDelay", "00:00:02"));
        var id = (await EnqueueAsync()).JobId;

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var leased = (await LeaseOneAsync())!;
            Assert.Equal((uint)attempt, leased.Job.Attempts);
            var failed = await Worker.FailAsync(new FailRequest { JobId = id, LeaseToken = leased.LeaseToken, Error = $"boom {attempt}", Retryable = true });
            if (attempt < 3)
            {
                Assert.Equal(JobState.Queued, failed.State);
                Assert.NotNull(failed.NextAttemptAt);
                Assert.Null(await LeaseOneAsync()); // still backing off
                Time.Advance(TimeSpan.FromSeconds(2 << (attempt - 1)));
            }
            else
            {
                Assert.Equal(JobState.Dead, failed.State);
            }
        }

        var dead = await Queue.ListDeadLettersAsync(new ListDeadLettersRequest());
        Assert.Equal([id], dead.Jobs.Select(j => j.Id));
        Assert.Equal("boom 3", dead.Jobs[0].Error);
        Assert.Equal(1ul, (await Queue.GetStatsAsync(new GetStatsRequest())).Dead);

        Assert.Equal(1u, (await Queue.RequeueAsync(new RequeueRequest { JobId = id })).Requeued);
        var again = (await LeaseOneAsync())!;
        Assert.Equal(id, again.Job.Id);
        Assert.Equal(1u, again.Job.Attempts);
        Assert.Empty((await Queue.ListDeadLettersAsync(new ListDeadLettersRequest())).Jobs);
    }

    [Fact]
    public async Task A_non_retryable_failure_fails_the_job_at_once()
    {
        await StartAsync();
        var id = (await EnqueueAsync()).JobId;
        var leased = (await LeaseOneAsync())!;

        var failed = await Worker.FailAsync(new FailRequest { JobId = id, LeaseToken = leased.LeaseToken, Error = "not audio", Retryable = false });

        Assert.Equal(JobState.Failed, failed.State);
        var job = await GetAsync(id);
        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal("not audio", job.Error);
        Assert.Empty((await Queue.ListDeadLettersAsync(new ListDeadLettersRequest())).Jobs);
    }

    [Fact]
    public async Task Release_gives_the_job_back_without_using_an_attempt()
    {
        await StartAsync();
        var id = (await EnqueueAsync()).JobId;
        var leased = (await LeaseOneAsync())!;

        await Worker.ReleaseAsync(new ReleaseRequest { JobId = id, LeaseToken = leased.LeaseToken });
        var again = (await LeaseOneAsync("worker-2"))!;

        Assert.Equal(id, again.Job.Id);
        Assert.Equal(1u, again.Job.Attempts);
    }

    [Fact]
    public async Task Cancelling_a_running_job_refuses_its_worker()
    {
        await StartAsync();
        var id = (await EnqueueAsync()).JobId;
        var leased = (await LeaseOneAsync())!;

        await Queue.CancelAsync(new CancelRequest { JobId = id });
        var (code, _) = await Rpc.FailureOf(() => CompleteAsync(leased));

        Assert.Equal(StatusCode.FailedPrecondition, code);
        Assert.Equal(JobState.Cancelled, (await GetAsync(id)).State);
        Assert.Equal(0ul, (await Queue.GetStatsAsync(new GetStatsRequest())).Processing);
    }

    [Fact]
    public async Task Pause_stops_leasing_but_not_enqueueing_and_resume_restarts_it()
    {
        await StartAsync();
        var paused = await Queue.PauseAsync(new PauseRequest());
        var id = (await EnqueueAsync()).JobId;

        Assert.True(paused.Paused);
        Assert.Null(await LeaseOneAsync());
        Assert.False((await Queue.ResumeAsync(new ResumeRequest())).Paused);
        Assert.Equal(id, (await LeaseOneAsync())!.Job.Id);
    }

    [Fact]
    public async Task SetConcurrency_changes_how_many_jobs_run_at_once()
    {
        await StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await EnqueueAsync();
        }

        var one = await Worker.LeaseAsync(new LeaseRequest { WorkerId = "w", MaxJobs = 5 });
        var stats = await Queue.SetConcurrencyAsync(new SetConcurrencyRequest { MaxConcurrency = 3 });
        var two = await Worker.LeaseAsync(new LeaseRequest { WorkerId = "w", MaxJobs = 5 });

        Assert.Single(one.Jobs);
        Assert.Equal(3u, stats.MaxConcurrency);
        Assert.Equal(2, two.Jobs.Count);
    }

    [Fact]
    public async Task A_long_poll_lease_returns_when_a_job_arrives()
    {
        await StartAsync();
        var lease = Worker.LeaseAsync(new LeaseRequest { WorkerId = "w", MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)) });

        var id = (await EnqueueAsync()).JobId;

        Assert.Equal(id, (await lease).Jobs.Single().Job.Id);
    }

    [Fact]
    public async Task Output_audio_is_kept_and_served_after_completion()
    {
        await StartAsync();
        var id = (await EnqueueAsync()).JobId;
        var leased = (await LeaseOneAsync())!;
        var output = ByteString.CopyFrom([1, 2, 3, 4]);

        await Worker.CompleteAsync(new CompleteRequest { JobId = id, LeaseToken = leased.LeaseToken, Result = "{}", OutputAudio = output, OutputContentType = "audio/x-wav" });
        var served = await Queue.GetOutputAsync(new GetJobRequest { JobId = id });

        Assert.Equal("audio/wav", served.ContentType);
        Assert.Equal(output, served.Audio);
    }

    [Fact]
    public async Task Estimated_waits_are_within_a_quarter_of_the_actual_waits_in_a_steady_state()
    {
        // Two workers, 4 s a job, two new jobs every 4 s onto a queue of ten. The first estimate
        // (TypicalJobDuration 1 s) is wrong on purpose: estimates must come from measured times.
        await StartAsync(("AudioQueue:MaxConcurrency", "2"));
        var workTime = TimeSpan.FromSeconds(4);
        for (var i = 0; i < 10; i++)
        {
            await EnqueueAsync();
        }
        var estimates = new Dictionary<string, TimeSpan>();

        for (var round = 0; round < 40; round++)
        {
            var running = new[] { await LeaseOneAsync("w1"), await LeaseOneAsync("w2") };
            foreach (var _ in running)
            {
                var queued = await EnqueueAsync();
                if (round is >= 10 and < 30)
                {
                    estimates[queued.JobId] = queued.EstimatedWait.ToTimeSpan();
                }
            }
            Time.Advance(workTime);
            foreach (var job in running)
            {
                await CompleteAsync(job!);
            }
        }

        Assert.Equal(40, estimates.Count);
        foreach (var (id, estimate) in estimates)
        {
            var job = await GetAsync(id);
            var actual = job.StartedAt.ToDateTimeOffset() - job.CreatedAt.ToDateTimeOffset();
            Assert.True(Math.Abs((estimate - actual).TotalSeconds) <= 0.25 * actual.TotalSeconds, $"estimated {estimate}, waited {actual}");
        }
    }

    [Fact]
    public async Task Worker_calls_with_bad_input_name_the_fields()
    {
        await StartAsync();

        var (leaseCode, leaseDetails) = await Rpc.FailureOf(() => Worker.LeaseAsync(new LeaseRequest
        {
            WorkerId = "", MaxJobs = 101,
            LeaseDuration = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)),
            MaxWait = Duration.FromTimeSpan(TimeSpan.FromMinutes(2)),
        }).ResponseAsync);
        var (renewCode, renewDetails) = await Rpc.FailureOf(() => Worker.RenewAsync(new RenewRequest { JobId = "x", Progress = 2 }).ResponseAsync);
        var (failCode, failDetails) = await Rpc.FailureOf(() => Worker.FailAsync(new FailRequest { JobId = Guid.NewGuid().ToString(), LeaseToken = "t" }).ResponseAsync);
        var (concurrencyCode, concurrencyDetails) = await Rpc.FailureOf(() => Queue.SetConcurrencyAsync(new SetConcurrencyRequest()).ResponseAsync);

        Rpc.AssertInvalid(leaseCode, leaseDetails, "worker_id", "max_jobs", "lease_duration", "max_wait");
        Rpc.AssertInvalid(renewCode, renewDetails, "job_id", "lease_token", "progress");
        Rpc.AssertInvalid(failCode, failDetails, "error");
        Rpc.AssertInvalid(concurrencyCode, concurrencyDetails, "max_concurrency");
    }

    [Fact]
    public async Task A_job_whose_data_was_deleted_does_not_stall_the_queue()
    {
        await StartAsync();
        var damaged = (await EnqueueAsync()).JobId;
        var healthy = (await EnqueueAsync()).JobId;
        await Redis.Database.KeyDeleteAsync("aq:{audio}:job:" + damaged);

        var leased = await LeaseOneAsync();

        Assert.Equal(healthy, leased!.Job.Id);
        Assert.Equal(0, await Redis.Database.SortedSetLengthAsync("aq:{audio}:ready"));
    }

    [Fact]
    public async Task A_long_poll_answers_before_the_callers_deadline()
    {
        await StartAsync();

        var lease = await Worker.LeaseAsync(
            new LeaseRequest { WorkerId = "w", MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)) },
            deadline: DateTime.UtcNow.AddSeconds(2));

        Assert.Empty(lease.Jobs); // an empty answer, not DEADLINE_EXCEEDED
    }
}
