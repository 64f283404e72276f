using Google.Protobuf.WellKnownTypes;
using Platform.AudioQueue.V1;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;

namespace Platform.AudioQueue.Grpc;

/// <summary>Store types to wire messages, and the checks both gRPC services share.</summary>
public static partial class JobMessages
{
    public static Job ToMessage(JobRecord job, long jobsAhead = -1, TimeSpan? estimatedWait = null)
    {
        var (team, tenant) = Caller.Unscope(job.Tenant);
        var message = new Job
        {
            Id = job.Id,
            State = ToWire(job.State),
            Priority = (Priority)job.Priority,
            Tenant = tenant,
            Team = team,
            Attempts = (uint)job.Attempts,
            Progress = job.Progress,
            Result = job.Result,
            Error = job.Error,
            CreatedAt = Timestamp.FromDateTimeOffset(job.CreatedAt),
            StartedAt = ToTimestamp(job.StartedAt),
            FinishedAt = ToTimestamp(job.FinishedAt),
            NextAttemptAt = ToTimestamp(job.NextAttemptAt),
            ContentType = job.ContentType,
            AudioBytes = (ulong)job.AudioBytes,
            WorkerId = job.Worker,
        };
        message.Metadata.Add(job.Metadata.ToDictionary());
        if (jobsAhead >= 0)
        {
            message.Position = (uint)jobsAhead;
        }
        if (estimatedWait is { } wait)
        {
            message.EstimatedWait = Duration.FromTimeSpan(wait);
        }
        return message;
    }

    public static Job ToMessage(JobView view) => ToMessage(view.Job, view.JobsAhead, view.EstimatedWait);

    public static Timestamp? ToTimestamp(DateTimeOffset? at) => at is { } value ? Timestamp.FromDateTimeOffset(value) : null;

    public static RequestValidator CheckJobId(this RequestValidator validator, string jobId) =>
        validator.Check(Guid.TryParse(jobId, out _), "job_id", "required; a job id returned by Enqueue (UUID)");

    /// <summary>Tenants and worker ids: up to 128 characters [A-Za-z0-9_.:@-].</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_.:@-]{0,128}$")]
    public static partial System.Text.RegularExpressions.Regex Identifier();

    /// <summary>The .proto's JobState (it has UNSPECIFIED first).</summary>
    public static JobState ToWire(JobStatus state) => (JobState)((int)state + 1);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ThrowJobNotFound(string jobId) =>
        GrpcErrors.ThrowNotFound($"Job '{jobId}' does not exist (or has expired).", "job", jobId);

    /// <summary>The state as the .proto and the docs spell it (SUCCEEDED, DEAD, ...).</summary>
    public static string ToWireName(this JobStatus state) => state.ToString().ToUpperInvariant();
}
