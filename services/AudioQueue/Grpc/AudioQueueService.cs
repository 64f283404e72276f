using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.AudioQueue.V1;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;

namespace Platform.AudioQueue.Grpc;

/// <summary>
/// The producer and operator API. Tenants are stored per team ("team/tenant"); a team sees only its own
/// jobs (another team's job is NOT_FOUND, as if it did not exist). Admin RPCs act on the whole queue.
/// </summary>
[Microsoft.AspNetCore.Authorization.Authorize(Roles = PlatformRoles.UserOrAdmin)]
public sealed class AudioQueueService(
    JobStore store, QueueAdmin admin, QueueEvents events, QueueMetrics metrics, IOptionsMonitor<AudioQueueOptions> options)
    : V1.AudioQueue.AudioQueueBase
{
    public const int MaxIdempotencyKeyLength = 256;
    public const int MaxMetadataEntries = 32;
    public const int MaxMetadataKeyLength = 64;
    public const int MaxMetadataValueLength = 1024;
    public const int MaxReasonLength = 1024;
    public const int MaxConcurrencyLimit = 10_000;
    const int DefaultPageSize = 50, MaxPageSize = 100;

    /// <summary>Watchers re-read at most this often, however busy the queue.</summary>
    static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(200);
    /// <summary>Watchers re-read at least this often, so the estimated wait stays fresh.</summary>
    static readonly TimeSpan WatchRefresh = TimeSpan.FromSeconds(5);

    public override async Task<EnqueueResponse> Enqueue(EnqueueRequest request, ServerCallContext context)
    {
        var maxAudioBytes = options.CurrentValue.MaxAudioBytes;
        new RequestValidator()
            .Check(request.Audio.Length > 0, "audio", "required; must not be empty")
            .Check(request.Audio.Length <= maxAudioBytes, "audio", $"at most {maxAudioBytes} bytes (got {request.Audio.Length})")
            .Check(AudioContentTypes.Known.ContainsKey(request.ContentType), "content_type", "must be " + AudioContentTypes.Description)
            .Check(System.Enum.IsDefined(request.Priority), "priority", "must be one of PRIORITY_LOW, PRIORITY_NORMAL, PRIORITY_HIGH, PRIORITY_URGENT")
            .Check(JobMessages.Identifier().IsMatch(request.Tenant), "tenant", "at most 128 characters [A-Za-z0-9_.:@-]")
            .Check(request.IdempotencyKey.Length <= MaxIdempotencyKeyLength, "idempotency_key", $"at most {MaxIdempotencyKeyLength} characters")
            .Check(request.Metadata.Count <= MaxMetadataEntries, "metadata", $"at most {MaxMetadataEntries} entries")
            .Check(request.Metadata.All(m => m.Key.Length is > 0 and <= MaxMetadataKeyLength), "metadata", $"keys must be 1-{MaxMetadataKeyLength} characters")
            .Check(request.Metadata.All(m => m.Value.Length <= MaxMetadataValueLength), "metadata", $"values must be at most {MaxMetadataValueLength} characters")
            .ThrowIfInvalid();

        var tenant = request.Tenant.Length == 0 ? "default" : request.Tenant;
        var result = await store.EnqueueAsync(new NewJob(
            request.Audio.Memory,
            AudioContentTypes.Known[request.ContentType],
            request.Priority == Priority.Unspecified ? JobPriority.Normal : (JobPriority)request.Priority,
            Caller.Of(context).Scope(tenant),
            request.IdempotencyKey,
            request.Metadata));
        metrics.Enqueued(result);

        if (result.Outcome is EnqueueOutcome.QueueFull or EnqueueOutcome.TenantFull)
        {
            throw QueueFull(result, tenant);
        }
        return new EnqueueResponse
        {
            JobId = result.JobId,
            Position = (uint)Math.Max(0, result.JobsAhead),
            EstimatedWait = result.JobsAhead >= 0 ? Duration.FromTimeSpan(result.EstimatedWait) : null,
            Duplicate = result.Outcome == EnqueueOutcome.Duplicate,
        };
    }

    /// <summary>
    /// RESOURCE_EXHAUSTED before anything is stored. The retry delay is the time the workers need to free
    /// one place at the measured rate; the message also says how long a job accepted now would wait.
    /// </summary>
    RpcException QueueFull(EnqueueResult result, string tenant)
    {
        var queue = options.CurrentValue;
        var perPlace = result.Load.AverageProcessingTime / Math.Max(1, result.Load.MaxConcurrency);
        var retryAfter = perPlace > TimeSpan.FromSeconds(1) ? perPlace : TimeSpan.FromSeconds(1);
        var wait = WaitTimeEstimator.Estimate(result.Depth, result.Load);
        return result.Outcome == EnqueueOutcome.QueueFull
            ? GrpcErrors.ResourceExhausted(
                $"The queue is full ({result.Depth} jobs waiting, limit {queue.MaxDepth}); a job accepted now would wait about {wait.TotalSeconds:0} s. Retry after {retryAfter.TotalSeconds:0.#} s.",
                retryAfter, "queue", $"AudioQueue:MaxDepth = {queue.MaxDepth}")
            : GrpcErrors.ResourceExhausted(
                $"Tenant '{tenant}' has {queue.MaxDepthPerTenant} jobs waiting, its limit; a job accepted now would wait about {wait.TotalSeconds:0} s. Retry after {retryAfter.TotalSeconds:0.#} s.",
                retryAfter, "tenant:" + tenant, $"AudioQueue:MaxDepthPerTenant = {queue.MaxDepthPerTenant}");
    }

    public override async Task<Job> GetJob(GetJobRequest request, ServerCallContext context) =>
        JobMessages.ToMessage(await GetExistingAsync(request.JobId, context));

    public override async Task WatchJob(GetJobRequest request, IServerStreamWriter<Job> responseStream, ServerCallContext context)
    {
        var cancellation = context.CancellationToken;
        // Taken before each read, so a change between the read and the wait is not missed.
        var changed = events.Next;
        var view = await GetExistingAsync(request.JobId, context);
        Job? sent = null;
        while (true)
        {
            var message = JobMessages.ToMessage(view);
            if (!message.Equals(sent))
            {
                await responseStream.WriteAsync(message, cancellation);
                sent = message;
            }
            if (view.Job.IsFinal)
            {
                return;
            }
            try
            {
                await changed.WaitAsync(WatchRefresh, cancellation);
            }
            catch (TimeoutException)
            {
                // Nothing changed; refresh the estimate anyway.
            }
            await Task.Delay(WatchInterval, cancellation);
            changed = events.Next;
            if (await store.GetAsync(request.JobId) is not { } latest)
            {
                return; // Expired: nothing more will happen to it.
            }
            view = latest;
        }
    }

    public override async Task<Job> Cancel(CancelRequest request, ServerCallContext context)
    {
        new RequestValidator()
            .CheckJobId(request.JobId)
            .Check(request.Reason.Length <= MaxReasonLength, "reason", $"at most {MaxReasonLength} characters")
            .ThrowIfInvalid();
        await GetExistingAsync(request.JobId, context);
        var (cancelled, state) = await store.CancelAsync(request.JobId, request.Reason.Length > 0 ? request.Reason : "cancelled");
        if (!cancelled)
        {
            if (state is null)
            {
                JobMessages.ThrowJobNotFound(request.JobId);
            }
            throw GrpcErrors.FailedPrecondition($"Job '{request.JobId}' is already {state.Value.ToWireName()}; only QUEUED or PROCESSING jobs can be cancelled.", "STATE", "job:" + request.JobId);
        }
        return JobMessages.ToMessage(await GetExistingAsync(request.JobId, context));
    }

    public override async Task<GetOutputResponse> GetOutput(GetJobRequest request, ServerCallContext context)
    {
        await GetExistingAsync(request.JobId, context);
        var output = await store.GetOutputAsync(request.JobId);
        if (output is null)
        {
            GrpcErrors.ThrowNotFound($"Job '{request.JobId}' has no output (not finished, no output produced, or expired).", "job_output", request.JobId);
        }
        return new GetOutputResponse { ContentType = output.Value.ContentType, Audio = UnsafeByteOperations.UnsafeWrap(output.Value.Audio) };
    }

    public override async Task<QueueStats> GetStats(GetStatsRequest request, ServerCallContext context) =>
        ToMessage(await admin.GetStatsAsync());

    [AdminRpc]
    public override async Task<QueueStats> Pause(PauseRequest request, ServerCallContext context)
    {
        await admin.SetPausedAsync(true);
        return ToMessage(await admin.GetStatsAsync());
    }

    [AdminRpc]
    public override async Task<QueueStats> Resume(ResumeRequest request, ServerCallContext context)
    {
        await admin.SetPausedAsync(false);
        return ToMessage(await admin.GetStatsAsync());
    }

    [AdminRpc]
    public override async Task<QueueStats> SetConcurrency(SetConcurrencyRequest request, ServerCallContext context)
    {
        new RequestValidator()
            .Check(request.MaxConcurrency is >= 1 and <= MaxConcurrencyLimit, "max_concurrency", $"required; 1 to {MaxConcurrencyLimit}")
            .ThrowIfInvalid();
        await admin.SetConcurrencyAsync((int)request.MaxConcurrency);
        return ToMessage(await admin.GetStatsAsync());
    }

    [AdminRpc]
    public override async Task<ListDeadLettersResponse> ListDeadLetters(ListDeadLettersRequest request, ServerCallContext context)
    {
        var offset = 0;
        new RequestValidator()
            .Check(request.PageSize <= MaxPageSize, "page_size", $"at most {MaxPageSize}")
            .Check(request.PageToken.Length == 0 || int.TryParse(request.PageToken, out offset) && offset >= 0, "page_token", "must be a next_page_token from a previous response")
            .ThrowIfInvalid();
        var pageSize = request.PageSize == 0 ? DefaultPageSize : (int)request.PageSize;
        var (jobs, more) = await admin.ListDeadLettersAsync(offset, pageSize);
        return new ListDeadLettersResponse
        {
            Jobs = { jobs.Select(job => JobMessages.ToMessage(job)) },
            NextPageToken = more ? (offset + pageSize).ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
        };
    }

    [AdminRpc]
    public override async Task<RequeueResponse> Requeue(RequeueRequest request, ServerCallContext context)
    {
        if (request.JobId.Length == 0)
        {
            return new RequeueResponse { Requeued = (uint)await admin.RequeueAllDeadAsync() };
        }
        new RequestValidator().CheckJobId(request.JobId).ThrowIfInvalid();
        switch (await admin.RequeueAsync(request.JobId))
        {
            case RequeueOutcome.NotFound:
                JobMessages.ThrowJobNotFound(request.JobId);
                break;
            case RequeueOutcome.WrongState:
                throw GrpcErrors.FailedPrecondition($"Job '{request.JobId}' is not DEAD or FAILED; only those can be requeued.", "STATE", "job:" + request.JobId);
            case RequeueOutcome.AudioExpired:
                throw GrpcErrors.FailedPrecondition($"Job '{request.JobId}' can no longer be requeued: its audio has expired.", "STATE", "job:" + request.JobId);
        }
        return new RequeueResponse { Requeued = 1 };
    }

    /// <summary>The job, when it exists and the caller may see it; NOT_FOUND otherwise (not PERMISSION_DENIED, which would confirm that the id exists).</summary>
    async Task<JobView> GetExistingAsync(string jobId, ServerCallContext context)
    {
        new RequestValidator().CheckJobId(jobId).ThrowIfInvalid();
        if (await store.GetAsync(jobId) is not { } view || !Caller.Of(context).CanAccess(Caller.Unscope(view.Job.Tenant).Team))
        {
            JobMessages.ThrowJobNotFound(jobId);
            return null;
        }
        AdminAudit.NoteAccessTo(context, Caller.Unscope(view.Job.Tenant).Team);
        return view;
    }


    static QueueStats ToMessage(QueueSnapshot stats) => new()
    {
        Depth = (ulong)stats.Depth,
        Priorities =
        {
            stats.Priorities.Select(p => new PriorityStats
            {
                Priority = (Priority)p.Priority, Depth = (ulong)p.Depth, EstimatedWait = Duration.FromTimeSpan(p.EstimatedWait),
            }),
        },
        Processing = (ulong)stats.Load.Processing,
        MaxConcurrency = (uint)stats.Load.MaxConcurrency,
        SucceededLastMinute = (ulong)stats.SucceededLastMinute,
        FailedLastMinute = (ulong)stats.FailedLastMinute,
        ProcessingTimeP50 = ToDuration(stats.ProcessingTimeP50),
        ProcessingTimeP95 = ToDuration(stats.ProcessingTimeP95),
        ThroughputPerSecond = stats.ThroughputPerSecond,
        OldestQueuedAge = ToDuration(stats.OldestQueuedAge),
        Paused = stats.Paused,
        Delayed = (ulong)stats.Delayed,
        Dead = (ulong)stats.Dead,
        AverageProcessingTime = Duration.FromTimeSpan(stats.Load.AverageProcessingTime),
    };

    static Duration? ToDuration(TimeSpan? span) => span is { } value ? Duration.FromTimeSpan(value) : null;
}
