using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Client;
using Platform.Tests.Support;
using AudioQueueClient = Platform.AudioQueue.V1.AudioQueue.AudioQueueClient;

namespace Platform.Tests.Client;

public sealed class ResourceExhaustedRetryTestsOnRedis(RedisServerFixture redis) : ResourceExhaustedRetryTests(redis), IClassFixture<RedisServerFixture>;
public sealed class ResourceExhaustedRetryTestsOnGarnet(GarnetFixture redis) : ResourceExhaustedRetryTests(redis), IClassFixture<GarnetFixture>;

/// <summary>
/// The opt-in retry against a real AudioQueue whose queue is full (MaxDepth 1): Enqueue answers RESOURCE_EXHAUSTED
/// with a RetryInfo. The client's clock is fake, so the tests see the wait the client chose and end it themselves.
/// </summary>
public abstract class ResourceExhaustedRetryTests(RedisFixture redis) : HostedTest
{
    const string EnqueuePath = "/platform.audioqueue.v1.AudioQueue/Enqueue";
    static readonly ByteString Wav = ByteString.CopyFrom("RIFF....WAVEfmt "u8.ToArray());

    readonly RecordingTimeProvider time = new();
    readonly OutgoingCalls calls = new();
    AudioQueueClient plain = null!;
    string address = "";

    static EnqueueRequest Job() => new() { Audio = Wav, ContentType = "audio/wav", Tenant = "client-tests" };

    /// <summary>AudioQueue with one place, full; returns the RetryInfo delay it answers with.</summary>
    async Task<(string BlockingJobId, TimeSpan RetryDelay)> StartFullQueueAsync()
    {
        // One job at a time, 30 s each: a full queue asks callers to come back in 30 s.
        var host = Start<AudioQueueService>(redis,
            ("AudioQueue:Worker:Enabled", "false"), ("AudioQueue:MaxDepth", "1"),
            ("AudioQueue:MaxConcurrency", "1"), ("AudioQueue:TypicalJobDuration", "00:00:30"));
        await redis.FlushAsync();
        address = host.GrpcAddress.ToString();
        plain = new AudioQueueClient(host.Channel());
        var blocking = await plain.EnqueueAsync(Job());
        var refused = await Assert.ThrowsAsync<RpcException>(() => plain.EnqueueAsync(Job()).ResponseAsync);
        return (blocking.JobId, refused.GetRetryDelay()!.Value);
    }

    AudioQueueClient Client(bool optIn, Action<ResourceExhaustedRetryOptions>? retry = null, TimeSpan? defaultDeadline = null)
    {
        var clients = Track(ClientContainer.Build(new Dictionary<string, string?> { ["Platform:Clients:AudioQueue:Address"] = address },
            options =>
            {
                options.DefaultDeadline = defaultDeadline ?? TimeSpan.FromMinutes(2);
                options.AudioQueue.RetryResourceExhausted = optIn;
                retry?.Invoke(options.ResourceExhaustedRetry);
            },
            time, calls));
        return clients.GetRequiredService<AudioQueueClient>();
    }

    Task<bool> WaitingAsync(TimeSpan delay) => Eventually.TrueAsync(() => Task.FromResult(time.TimersDue.Contains(delay)));

    [Fact]
    public async Task An_opted_in_client_waits_the_RetryInfo_delay_then_tries_again()
    {
        var (blockingJob, retryDelay) = await StartFullQueueAsync();
        var client = Client(optIn: true);

        var call = client.EnqueueAsync(Job()).ResponseAsync;
        Assert.True(await WaitingAsync(retryDelay));
        Assert.False(call.IsCompleted);
        await plain.CancelAsync(new CancelRequest { JobId = blockingJob }); // frees the place
        time.Advance(retryDelay);
        var accepted = await call;

        Assert.False(string.IsNullOrEmpty(accepted.JobId));
        Assert.Equal(2, calls.To(EnqueuePath));
    }

    [Fact]
    public async Task A_blocking_call_is_retried_the_same_way()
    {
        var (blockingJob, retryDelay) = await StartFullQueueAsync();
        var client = Client(optIn: true);

        var call = Task.Run(() => client.Enqueue(Job()), TestContext.Current.CancellationToken);
        Assert.True(await WaitingAsync(retryDelay));
        await plain.CancelAsync(new CancelRequest { JobId = blockingJob });
        time.Advance(retryDelay);
        var accepted = await call;

        Assert.False(string.IsNullOrEmpty(accepted.JobId));
        Assert.Equal(2, calls.To(EnqueuePath));
    }

    [Fact]
    public async Task The_wait_is_capped_by_MaxDelay_and_attempts_by_MaxAttempts()
    {
        var (_, retryDelay) = await StartFullQueueAsync();
        var maxDelay = TimeSpan.FromSeconds(2);
        var client = Client(optIn: true, retry => { retry.MaxDelay = maxDelay; retry.MaxAttempts = 2; });

        var call = client.EnqueueAsync(Job()).ResponseAsync;
        Assert.True(await WaitingAsync(maxDelay));
        time.Advance(maxDelay);
        var failure = await Assert.ThrowsAsync<RpcException>(() => call);

        Assert.True(retryDelay > maxDelay);
        Assert.DoesNotContain(retryDelay, time.TimersDue);
        Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
        Assert.Equal(2, calls.To(EnqueuePath));
    }

    [Fact]
    public async Task No_wait_that_would_end_past_the_deadline_the_server_refusal_comes_back_at_once()
    {
        var (_, retryDelay) = await StartFullQueueAsync();
        var client = Client(optIn: true);

        var failure = await Assert.ThrowsAsync<RpcException>(() =>
            client.EnqueueAsync(Job(), deadline: DateTime.UtcNow + retryDelay / 2).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
        Assert.Equal(retryDelay, failure.GetRetryDelay());
        Assert.DoesNotContain(retryDelay, time.TimersDue);
        Assert.Equal(1, calls.To(EnqueuePath));
    }

    [Fact]
    public async Task The_default_deadline_bounds_the_wait_too()
    {
        var (_, retryDelay) = await StartFullQueueAsync();
        var client = Client(optIn: true, defaultDeadline: retryDelay / 2);

        // Bounded in real time only so that a client waiting on the fake clock fails the test instead of hanging it.
        var failure = await Assert.ThrowsAsync<RpcException>(() => client.EnqueueAsync(Job()).ResponseAsync.WaitAsync(TimeSpan.FromMinutes(1)));

        Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
        Assert.DoesNotContain(retryDelay, time.TimersDue);
        Assert.Equal(1, calls.To(EnqueuePath));
    }

    [Fact]
    public async Task A_client_that_did_not_opt_in_does_not_retry()
    {
        var (_, retryDelay) = await StartFullQueueAsync();
        var client = Client(optIn: false);

        var failure = await Assert.ThrowsAsync<RpcException>(() => client.EnqueueAsync(Job()).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
        Assert.Equal(retryDelay, failure.GetRetryDelay());
        Assert.DoesNotContain(retryDelay, time.TimersDue);
        Assert.Equal(1, calls.To(EnqueuePath));
    }

    [Fact]
    public async Task Cancelling_while_waiting_ends_the_call_as_cancelled_without_another_attempt()
    {
        var (_, retryDelay) = await StartFullQueueAsync();
        var client = Client(optIn: true);
        using var cancellation = new CancellationTokenSource();

        var call = client.EnqueueAsync(Job(), cancellationToken: cancellation.Token).ResponseAsync;
        Assert.True(await WaitingAsync(retryDelay));
        await cancellation.CancelAsync();
        var failure = await Assert.ThrowsAsync<RpcException>(() => call);

        Assert.Equal(StatusCode.Cancelled, failure.StatusCode);
        Assert.Equal(1, calls.To(EnqueuePath));
    }
}
