using System.Runtime.CompilerServices;
using Grpc.Core;
using Platform.AudioQueue.V1;
using AudioQueueClient = Platform.AudioQueue.V1.AudioQueue.AudioQueueClient;

namespace Platform.Client;

/// <summary>Enqueue-and-watch with <see cref="AudioQueueClient"/>.</summary>
public static class AudioQueueClientExtensions
{
    /// <summary>
    /// Follows a job: a snapshot now and one on every change (position, estimated wait, state, progress), ending
    /// after the snapshot with a final state (SUCCEEDED, FAILED, CANCELLED, DEAD).
    /// </summary>
    /// <param name="client">The AudioQueue client.</param>
    /// <param name="jobId">The id Enqueue returned.</param>
    /// <param name="cancellationToken">Stops watching (the job goes on).</param>
    /// <returns>The job's snapshots.</returns>
    /// <exception cref="RpcException">NOT_FOUND for an unknown or expired job; UNAVAILABLE when the stream broke
    /// (watch again with the same id: watching has no side effects).</exception>
    public static async IAsyncEnumerable<Job> WatchAsync(this AudioQueueClient client, string jobId,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var watch = client.WatchJob(new GetJobRequest { JobId = jobId }, cancellationToken: cancellationToken);
        while (await watch.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return watch.ResponseStream.Current;
        }
    }

    /// <summary>Enqueues the audio, then follows the job until it is final (see <see cref="WatchAsync"/>).</summary>
    /// <example>
    /// <code>
    /// await foreach (var job in queue.EnqueueAndWatchAsync(new EnqueueRequest { Audio = audio, ContentType = "audio/wav" }))
    /// {
    ///     Console.WriteLine($"{job.State} position {job.Position} progress {job.Progress:P0}");
    /// }
    /// </code>
    /// </example>
    /// <param name="client">The AudioQueue client.</param>
    /// <param name="request">The job. Without an idempotency key, the client gives the call one of its own.</param>
    /// <param name="cancellationToken">Stops watching (the job goes on).</param>
    /// <returns>The job's snapshots, the first taken after it was queued.</returns>
    /// <exception cref="RpcException">From Enqueue (e.g. RESOURCE_EXHAUSTED when the queue is full) or from the watch.</exception>
    public static async IAsyncEnumerable<Job> EnqueueAndWatchAsync(this AudioQueueClient client, EnqueueRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var accepted = await client.EnqueueAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        await foreach (var job in client.WatchAsync(accepted.JobId, cancellationToken).ConfigureAwait(false))
        {
            yield return job;
        }
    }

    /// <summary>Enqueues the audio and returns the job once it is final, reporting each snapshot on the way.</summary>
    /// <param name="client">The AudioQueue client.</param>
    /// <param name="request">The job.</param>
    /// <param name="progress">Receives every snapshot, the final one included.</param>
    /// <param name="cancellationToken">Stops waiting (the job goes on).</param>
    /// <returns>The job in its final state; its <see cref="Job.Result"/> when SUCCEEDED, its <see cref="Job.Error"/> otherwise.</returns>
    /// <exception cref="RpcException">From Enqueue or from the watch.</exception>
    public static async Task<Job> EnqueueAndWaitAsync(this AudioQueueClient client, EnqueueRequest request,
        IProgress<Job>? progress = null, CancellationToken cancellationToken = default)
    {
        Job? last = null;
        await foreach (var job in client.EnqueueAndWatchAsync(request, cancellationToken).ConfigureAwait(false))
        {
            progress?.Report(job);
            last = job;
        }
        return last ?? throw new RpcException(new Status(StatusCode.Internal, "WatchJob ended without a snapshot of the job."));
    }
}
