using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.AudioQueue.V1;
using Platform.ServiceDefaults;

namespace Platform.AudioQueue.Grpc;

public sealed partial class AudioQueueService(JobStore store, WaitTimeEstimator estimator, IOptionsMonitor<AudioQueueOptions> options)
    : V1.AudioQueue.AudioQueueBase
{
    public const int MaxIdempotencyKeyLength = 256;
    public const int MaxMetadataEntries = 32;
    public const int MaxMetadataKeyLength = 64;
    public const int MaxMetadataValueLength = 1024;

    /// <summary>Accepted content types, each mapped to the one name the job stores.</summary>
    static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["audio/wav"] = "audio/wav", ["audio/x-wav"] = "audio/wav", ["audio/wave"] = "audio/wav",
        ["audio/mpeg"] = "audio/mpeg", ["audio/mp3"] = "audio/mpeg",
    };

    public override async Task<EnqueueResponse> Enqueue(EnqueueRequest request, ServerCallContext context)
    {
        var maxAudioBytes = options.CurrentValue.MaxAudioBytes;
        new RequestValidator()
            .Check(request.Audio.Length > 0, "audio", "required; must not be empty")
            .Check(request.Audio.Length <= maxAudioBytes, "audio", $"at most {maxAudioBytes} bytes (got {request.Audio.Length})")
            .Check(ContentTypes.ContainsKey(request.ContentType), "content_type", "must be audio/wav, audio/x-wav, audio/wave, audio/mpeg or audio/mp3")
            .Check(System.Enum.IsDefined(request.Priority), "priority", "must be one of PRIORITY_LOW, PRIORITY_NORMAL, PRIORITY_HIGH, PRIORITY_URGENT")
            .Check(TenantName().IsMatch(request.Tenant), "tenant", "at most 128 characters [A-Za-z0-9_.:@-]")
            .Check(request.IdempotencyKey.Length <= MaxIdempotencyKeyLength, "idempotency_key", $"at most {MaxIdempotencyKeyLength} characters")
            .Check(request.Metadata.Count <= MaxMetadataEntries, "metadata", $"at most {MaxMetadataEntries} entries")
            .Check(request.Metadata.All(m => m.Key.Length is > 0 and <= MaxMetadataKeyLength), "metadata", $"keys must be 1-{MaxMetadataKeyLength} characters")
            .Check(request.Metadata.All(m => m.Value.Length <= MaxMetadataValueLength), "metadata", $"values must be at most {MaxMetadataValueLength} characters")
            .ThrowIfInvalid();

        var result = await store.EnqueueAsync(new NewJob(
            request.Audio.Memory,
            ContentTypes[request.ContentType],
            request.Priority == Priority.Unspecified ? JobPriority.Normal : (JobPriority)request.Priority,
            request.Tenant.Length == 0 ? "default" : request.Tenant,
            request.IdempotencyKey,
            request.Metadata));

        var ahead = Math.Max(0, result.JobsAhead);
        return new EnqueueResponse
        {
            JobId = result.JobId,
            Position = (uint)ahead,
            EstimatedWait = Duration.FromTimeSpan(estimator.Estimate(ahead)),
            Duplicate = result.Duplicate,
        };
    }

    public override async Task<Job> GetJob(GetJobRequest request, ServerCallContext context)
    {
        new RequestValidator()
            .Check(Guid.TryParse(request.JobId, out _), "job_id", "required; a job id returned by Enqueue (UUID)")
            .ThrowIfInvalid();

        var job = await store.GetAsync(request.JobId);
        if (job is null)
        {
            GrpcErrors.ThrowNotFound($"Job '{request.JobId}' does not exist (or has expired).", "job", request.JobId);
        }
        return ToMessage(job);
    }

    Job ToMessage(StoredJob job)
    {
        var message = new Job
        {
            Id = job.Id,
            State = System.Enum.Parse<JobState>(job.State, ignoreCase: true),
            Priority = (Priority)job.Priority,
            Tenant = job.Tenant,
            Attempts = (uint)job.Attempts,
            Progress = job.Progress,
            Result = job.Result,
            Error = job.Error,
            CreatedAt = Timestamp.FromDateTimeOffset(job.CreatedAt),
            StartedAt = job.StartedAt is { } started ? Timestamp.FromDateTimeOffset(started) : null,
            FinishedAt = job.FinishedAt is { } finished ? Timestamp.FromDateTimeOffset(finished) : null,
            ContentType = job.ContentType,
            AudioBytes = (ulong)job.AudioBytes,
            Metadata = { job.Metadata },
        };
        if (job.JobsAhead >= 0)
        {
            message.Position = (uint)job.JobsAhead;
            message.EstimatedWait = Duration.FromTimeSpan(estimator.Estimate(job.JobsAhead));
        }
        return message;
    }

    [GeneratedRegex("^[A-Za-z0-9_.:@-]{0,128}$")]
    private static partial Regex TenantName();
}
