using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.AudioQueue.V1;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Admission;

namespace Platform.AudioQueue.Grpc;

/// <summary>The worker API. Only the worker role may call it: a leased job carries any team's audio.</summary>
[Microsoft.AspNetCore.Authorization.Authorize(Roles = PlatformRoles.Worker)]
public sealed class AudioWorkerService(LeaseStore leases, IOptionsMonitor<AudioQueueOptions> options) : AudioWorker.AudioWorkerBase
{
    public const int MaxJobsPerLease = 100;
    public const int MaxResultLength = 1024 * 1024;
    public const int MaxErrorLength = 4096;
    static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromSeconds(30);
    static readonly TimeSpan MinLeaseDuration = TimeSpan.FromSeconds(1), MaxLeaseDuration = TimeSpan.FromMinutes(10);
    static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(60);
    static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(500);

    public override async Task<LeaseResponse> Lease(LeaseRequest request, ServerCallContext context)
    {
        var leaseDuration = request.LeaseDuration.ToTimeSpanOrInvalid() ?? DefaultLeaseDuration;
        var maxWait = request.MaxWait.ToTimeSpanOrInvalid() ?? TimeSpan.Zero;
        new RequestValidator()
            .Check(request.WorkerId.Length > 0 && JobMessages.Identifier().IsMatch(request.WorkerId), "worker_id", "required; 1-128 characters [A-Za-z0-9_.:@-]")
            .Check(request.MaxJobs <= MaxJobsPerLease, "max_jobs", $"at most {MaxJobsPerLease}")
            .Check(leaseDuration >= MinLeaseDuration && leaseDuration <= MaxLeaseDuration, "lease_duration", "1 s to 10 min")
            .Check(maxWait >= TimeSpan.Zero && maxWait <= MaxWait, "max_wait", "0 to 60 s")
            .ThrowIfInvalid();

        // Answer before the caller's own deadline, so leased jobs reach it rather than a closed call.
        var untilDeadline = context.Deadline - DateTime.UtcNow - DeadlineMargin;
        if (untilDeadline < maxWait)
        {
            maxWait = untilDeadline > TimeSpan.Zero ? untilDeadline : TimeSpan.Zero;
        }
        var jobs = await leases.LeaseAsync(request.WorkerId, Math.Max(1, (int)request.MaxJobs), leaseDuration, maxWait, context.CancellationToken);
        return new LeaseResponse
        {
            Jobs =
            {
                jobs.Select(leased => new V1.LeasedJob
                {
                    Job = JobMessages.ToMessage(leased.Job),
                    LeaseToken = leased.Token,
                    LeaseExpiresAt = JobMessages.ToTimestamp(leased.Job.LeaseUntil),
                    Audio = UnsafeByteOperations.UnsafeWrap(leased.Audio),
                }),
            },
        };
    }

    [NeverShed] // frees capacity: never refused under load
    public override async Task<RenewResponse> Renew(RenewRequest request, ServerCallContext context)
    {
        CheckLease(request.JobId, request.LeaseToken)
            .Check(request.Progress is >= 0 and <= 1, "progress", "0 to 1")
            .ThrowIfInvalid();
        var outcome = await leases.RenewAsync(request.JobId, request.LeaseToken, request.Progress);
        ThrowIfNotHeld(outcome, request.JobId);
        return new RenewResponse { LeaseExpiresAt = JobMessages.ToTimestamp(outcome.At) };
    }

    [NeverShed] // frees capacity: never refused under load
    public override async Task<CompleteResponse> Complete(CompleteRequest request, ServerCallContext context)
    {
        var maxAudioBytes = options.CurrentValue.MaxAudioBytes;
        CheckLease(request.JobId, request.LeaseToken)
            .Check(request.Result.Length <= MaxResultLength, "result", $"at most {MaxResultLength} characters")
            .Check(request.OutputAudio.Length <= maxAudioBytes, "output_audio", $"at most {maxAudioBytes} bytes (got {request.OutputAudio.Length})")
            .Check(request.OutputAudio.IsEmpty || AudioContentTypes.Known.ContainsKey(request.OutputContentType), "output_content_type", "required with output_audio: " + AudioContentTypes.Description)
            .ThrowIfInvalid();
        var outputType = request.OutputAudio.IsEmpty ? "" : AudioContentTypes.Known[request.OutputContentType];
        ThrowIfNotHeld(await leases.CompleteAsync(request.JobId, request.LeaseToken, request.Result, request.OutputAudio.Memory, outputType), request.JobId);
        return new CompleteResponse();
    }

    [NeverShed] // frees capacity: never refused under load
    public override async Task<FailResponse> Fail(FailRequest request, ServerCallContext context)
    {
        CheckLease(request.JobId, request.LeaseToken)
            .Check(request.Error.Length is > 0 and <= MaxErrorLength, "error", $"required; at most {MaxErrorLength} characters")
            .ThrowIfInvalid();
        var outcome = await leases.FailAsync(request.JobId, request.LeaseToken, request.Error, request.Retryable);
        ThrowIfNotHeld(outcome, request.JobId);
        return new FailResponse
        {
            State = JobMessages.ToWire(outcome.State!.Value),
            NextAttemptAt = JobMessages.ToTimestamp(outcome.At),
        };
    }

    [NeverShed] // frees capacity: never refused under load
    public override async Task<ReleaseResponse> Release(ReleaseRequest request, ServerCallContext context)
    {
        CheckLease(request.JobId, request.LeaseToken).ThrowIfInvalid();
        ThrowIfNotHeld(await leases.ReleaseAsync(request.JobId, request.LeaseToken), request.JobId);
        return new ReleaseResponse();
    }

    static RequestValidator CheckLease(string jobId, string token) =>
        new RequestValidator()
            .CheckJobId(jobId)
            .Check(token.Length is > 0 and <= 128, "lease_token", "required; the lease_token Lease returned");

    static void ThrowIfNotHeld(LeaseOutcome outcome, string jobId)
    {
        if (outcome.Held)
        {
            return;
        }
        if (outcome.State is null)
        {
            JobMessages.ThrowJobNotFound(jobId);
        }
        throw GrpcErrors.FailedPrecondition(
            $"This lease no longer holds job '{jobId}' (the job is {outcome.State.Value.ToWireName()}): the lease expired and the job was " +
            "queued again or given to another worker, or the job was cancelled. Drop the work; do not retry the call.",
            "LEASE", "job:" + jobId);
    }
}
