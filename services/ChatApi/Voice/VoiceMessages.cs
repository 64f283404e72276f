using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.AudioQueue.V1;
using Platform.RateLimit.V1;

namespace Platform.ChatApi.Voice;

/// <summary>
/// Voice messages: each caller's uploads are rate limited (RateLimit Check) and held to a number in
/// flight (RateLimit Acquire, released when the message is seen finished, or when its lease runs out),
/// then queued in AudioQueue under the caller's own tenant, so callers share the workers fairly.
/// </summary>
public sealed partial class VoiceMessages(
    RateLimiter.RateLimiterClient rateLimiter,
    AudioQueue.V1.AudioQueue.AudioQueueClient queue,
    IOptionsMonitor<ChatGatewayOptions> options,
    ChatMetrics metrics,
    Dependencies dependencies,
    ILogger<VoiceMessages> logger)
{
    const string OwnerKey = "chat.caller", InFlightLeaseKey = "chat.inflight_lease";

    VoiceOptions Settings => options.CurrentValue.Voice;
    DateTime Deadline => DateTime.UtcNow + Settings.Timeout;

    /// <summary>Rate limits, then queues. Limited is set (and Message null) when a limit said no.</summary>
    public async Task<(VoiceMessage? Message, RateLimitState? Limited)> SubmitAsync(
        string caller, ReadOnlyMemory<byte> audio, string contentType, string? idempotencyKey, CancellationToken cancellationToken)
    {
        try
        {
            var (message, limited) = await QueueAsync(caller, audio, contentType, idempotencyKey, cancellationToken);
            metrics.VoiceMessage(limited is not null ? "limited" : "accepted");
            return (message, limited);
        }
        catch (VoiceRejectedException)
        {
            metrics.VoiceMessage("rejected");
            throw;
        }
        catch (VoiceUnavailableException)
        {
            metrics.VoiceMessage("unavailable");
            throw;
        }
    }

    async Task<(VoiceMessage? Message, RateLimitState? Limited)> QueueAsync(
        string caller, ReadOnlyMemory<byte> audio, string contentType, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var settings = Settings;
        var (requests, leaseId) = await LimitAsync(settings, caller, cancellationToken);
        if (!requests.Allowed)
        {
            return (null, requests);
        }
        try
        {
            var queued = await queue.EnqueueAsync(new EnqueueRequest
            {
                Audio = UnsafeByteOperations.UnsafeWrap(audio), // the caller's buffer, not modified while sending
                ContentType = contentType,
                Tenant = TenantOf(caller),
                IdempotencyKey = IdempotencyKeyFor(caller, idempotencyKey),
                Metadata = { [OwnerKey] = caller, [InFlightLeaseKey] = leaseId ?? "" },
            }, deadline: Deadline, cancellationToken: cancellationToken);
            if (queued.Duplicate && leaseId is not null)
            {
                await ReleaseAsync(settings, caller, leaseId); // the first upload holds its own slot
            }
            if (!queued.Duplicate)
            {
                return (VoiceMessage.From(queued), null);
            }
            // A repeated upload: show the first one as it is now (or, if it cannot be read, the receipt).
            try
            {
                return (await GetAsync(caller, queued.JobId, cancellationToken) ?? VoiceMessage.From(queued), null);
            }
            catch (VoiceUnavailableException)
            {
                return (VoiceMessage.From(queued), null);
            }
        }
        catch (RpcException e)
        {
            if (leaseId is not null)
            {
                await ReleaseAsync(settings, caller, leaseId);
            }
            // AudioQueue checks the audio too; with limits configured alike it agrees with ours.
            throw e.StatusCode == StatusCode.InvalidArgument ? new VoiceRejectedException(e.Status.Detail, e) : Unavailable(e);
        }
    }

    /// <summary>Uploads per window (Check) and messages in flight (Acquire); RateLimit unreachable: allowed (fail open).</summary>
    async Task<(RateLimitState State, string? LeaseId)> LimitAsync(VoiceOptions settings, string caller, CancellationToken cancellationToken)
    {
        try
        {
            var check = await rateLimiter.CheckAsync(new CheckRequest { Policy = settings.RequestsPolicy, Key = caller }, deadline: Deadline, cancellationToken: cancellationToken);
            dependencies.RateLimit.Answered();
            var requests = new RateLimitState(settings.RequestsPolicy, check.Allowed, check.Limit, check.Remaining,
                check.ResetAfter.ToTimeSpan(), check.RetryAfter.ToTimeSpan(), check.Degraded);
            if (!check.Allowed)
            {
                return (requests, null);
            }
            var slot = await rateLimiter.AcquireAsync(new AcquireRequest
            {
                Policy = settings.InFlightPolicy, Key = caller, LeaseTtl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(settings.InFlightLeaseTtl),
            }, deadline: Deadline, cancellationToken: cancellationToken);
            return slot.Allowed
                ? (requests, slot.LeaseId)
                : (new RateLimitState(settings.InFlightPolicy, false, slot.Limit, slot.Remaining, slot.RetryAfter.ToTimeSpan(), slot.RetryAfter.ToTimeSpan(), slot.Degraded), null);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested && dependencies.RateLimit.IsOverload(e))
        {
            throw new VoiceUnavailableException("The platform is overloaded right now; try again shortly.", dependencies.RateLimit.Overloaded(e).RetryAfter, e);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested && Dependency.IsOutage(e))
        {
            dependencies.RateLimit.Degrade(e);
            return (new RateLimitState(settings.RequestsPolicy, true, 0, 0, TimeSpan.Zero, TimeSpan.Zero, Degraded: true), null);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            // A missing or wrong policy is a deployment mistake: refuse rather than run unlimited.
            throw new VoiceUnavailableException($"Voice messages are misconfigured (rate-limit policy: {e.Status.Detail}).", TimeSpan.FromSeconds(30), e);
        }
    }

    /// <summary>The caller's message; null when there is none (or it is someone else's).</summary>
    public async Task<VoiceMessage?> GetAsync(string caller, string id, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out _))
        {
            return null;
        }
        try
        {
            var job = await queue.GetJobAsync(new GetJobRequest { JobId = id }, deadline: Deadline, cancellationToken: cancellationToken);
            return Owned(caller, job) ? await SeenAsync(caller, job) : null;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>The message now and at every change until it is final. Empty when it is not the caller's.</summary>
    public async IAsyncEnumerable<VoiceMessage> WatchAsync(string caller, string id, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Ownership first, so a stranger learns nothing, not even that the id exists.
        if (await GetAsync(caller, id, cancellationToken) is null)
        {
            yield break;
        }
        using var watch = queue.WatchJob(new GetJobRequest { JobId = id }, cancellationToken: cancellationToken);
        while (await MoveNextAsync(watch.ResponseStream, cancellationToken))
        {
            yield return await SeenAsync(caller, watch.ResponseStream.Current);
        }
    }

    static async Task<bool> MoveNextAsync(IAsyncStreamReader<Job> stream, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.MoveNext(cancellationToken);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(e);
        }
    }

    public async Task<(string ContentType, byte[] Audio)?> GetAudioAsync(string caller, string id, CancellationToken cancellationToken)
    {
        if (await GetAsync(caller, id, cancellationToken) is not { Status: "succeeded" })
        {
            return null;
        }
        try
        {
            var output = await queue.GetOutputAsync(new GetJobRequest { JobId = id }, deadline: Deadline, cancellationToken: cancellationToken);
            return (output.ContentType, output.Audio.ToByteArray());
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// Every upload carries a key, so a gRPC retry after a timeout cannot queue it twice; the caller's
    /// Idempotency-Key makes the caller's own retries safe too. Hashed with the caller (length-prefixed),
    /// so callers never share keys and any length fits AudioQueue's limit.
    /// </summary>
    static string IdempotencyKeyFor(string caller, string? idempotencyKey) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{caller.Length}:{caller}|{idempotencyKey ?? Guid.NewGuid().ToString("N")}")));

    static bool Owned(string caller, Job job) => job.Metadata.TryGetValue(OwnerKey, out var owner) && owner == caller;

    /// <summary>A finished message gives its caller's in-flight slot back (releasing twice is harmless).</summary>
    async Task<VoiceMessage> SeenAsync(string caller, Job job)
    {
        var message = VoiceMessage.From(job);
        if (message.IsFinal && job.Metadata.TryGetValue(InFlightLeaseKey, out var leaseId) && leaseId.Length > 0)
        {
            await ReleaseAsync(Settings, caller, leaseId);
        }
        return message;
    }

    async Task ReleaseAsync(VoiceOptions settings, string caller, string leaseId)
    {
        try
        {
            await rateLimiter.ReleaseAsync(new RateLimit.V1.ReleaseRequest { Policy = settings.InFlightPolicy, Key = caller, LeaseId = leaseId }, deadline: Deadline);
        }
        catch (RpcException e)
        {
            // The slot frees itself when its lease runs out (Chat:Voice:InFlightLeaseTtl).
            LogReleaseFailed(e.Status.Detail);
        }
    }

    /// <summary>AudioQueue tenants allow [A-Za-z0-9_.:@-], up to 128 characters.</summary>
    static string TenantOf(string caller)
    {
        var tenant = NotTenantCharacter().Replace(caller, "_");
        return tenant.Length <= 128 ? tenant : tenant[..128];
    }

    static VoiceUnavailableException Unavailable(RpcException e) => e.StatusCode switch
    {
        StatusCode.ResourceExhausted => new VoiceUnavailableException(
            "The voice queue is full right now; try again shortly. Chat still works.",
            e.GetRpcStatus()?.GetDetail<Google.Rpc.RetryInfo>()?.RetryDelay?.ToTimeSpan() ?? TimeSpan.FromSeconds(5), e),
        _ => new VoiceUnavailableException(
            $"Voice messages are unavailable right now: the audio queue cannot be reached ({e.StatusCode}). Chat still works.", TimeSpan.FromSeconds(5), e),
    };

    [GeneratedRegex("[^A-Za-z0-9_.:@-]")]
    private static partial Regex NotTenantCharacter();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing a voice in-flight slot failed; it expires on its own ({Reason})")]
    partial void LogReleaseFailed(string reason);
}

/// <summary>AudioQueue cannot take or show voice messages now (HTTP 503 with Retry-After); chat is unaffected.</summary>
public sealed class VoiceUnavailableException(string message, TimeSpan retryAfter, Exception inner) : Exception(message, inner)
{
    public TimeSpan RetryAfter => retryAfter;
}

/// <summary>AudioQueue refused the upload as invalid (HTTP 400).</summary>
public sealed class VoiceRejectedException(string message, Exception inner) : Exception(message, inner);
