using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Status = Grpc.Core.Status;

namespace Platform.Client;

/// <summary>
/// The opt-in retry: a unary call that fails with RESOURCE_EXHAUSTED and a google.rpc.RetryInfo is
/// made again after the retry_delay the server asked for (capped), never waiting past its deadline.
/// </summary>
/// <remarks>
/// gRPC's own retry policy cannot do this: it retries by status code with its own backoff and reads only
/// the grpc-retry-pushback-ms trailer, not RetryInfo. The retry loop itself is Polly's (attempt counting,
/// cancellation, telemetry, and delays through the <see cref="TimeProvider"/> from DI, so tests drive
/// them with a fake clock); this interceptor only adapts a gRPC call to it. Streaming calls are not
/// retried: their messages cannot be replayed once consumed.
/// </remarks>
sealed class ResourceExhaustedRetryInterceptor : Interceptor
{
    static readonly ResiliencePropertyKey<TimeSpan> PlannedDelay = new("Platform.Client.RetryDelay");
    static readonly ResiliencePropertyKey<DateTime?> CallDeadline = new("Platform.Client.Deadline");

    readonly ResiliencePipeline pipeline;
    readonly TimeSpan maxDelay;

    public ResourceExhaustedRetryInterceptor(ResourceExhaustedRetryOptions options, TimeProvider time, ILoggerFactory? loggerFactory)
    {
        maxDelay = options.MaxDelay;
        var builder = new ResiliencePipelineBuilder { Name = "Platform.Client.ResourceExhaustedRetry", TimeProvider = time };
        builder.AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = options.MaxAttempts - 1,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is RpcException e && PlanRetry(e, args.Context)),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.GetValue(PlannedDelay, TimeSpan.Zero)),
            UseJitter = false,
        });
        if (loggerFactory is not null)
        {
            // Retries show up as Polly's resilience events (logs and the Polly meter).
            builder.ConfigureTelemetry(loggerFactory);
        }
        pipeline = builder.Build();
    }

    /// <summary>Decides whether to retry and how long to wait first.</summary>
    bool PlanRetry(RpcException failure, ResilienceContext context)
    {
        if (RetryDelayOf(failure) is not { } delay)
        {
            return false;
        }
        delay = delay > maxDelay ? maxDelay : delay;
        // A wait that ends at or past the deadline can only end in DEADLINE_EXCEEDED: give the caller the
        // server's answer now instead. (Deadlines are wall-clock time, as gRPC enforces them.)
        if (context.Properties.GetValue(CallDeadline, null) is { } deadline && DateTime.UtcNow + delay >= deadline)
        {
            return false;
        }
        context.Properties.Set(PlannedDelay, delay);
        return true;
    }

    static TimeSpan? RetryDelayOf(RpcException failure) =>
        failure.StatusCode == StatusCode.ResourceExhausted ? failure.GetRetryDelay() : null;

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = new RetryingCall<TRequest, TResponse>(this, request, context, continuation);
        return new AsyncUnaryCall<TResponse>(call.ResponseAsync, call.ResponseHeadersAsync(), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var resilience = ResilienceContextPool.Shared.Get(context.Options.CancellationToken);
        resilience.Properties.Set(CallDeadline, context.Options.Deadline);
        try
        {
            return pipeline.Execute(static (_, state) => state.continuation(state.request, state.context), resilience, (request, context, continuation));
        }
        catch (OperationCanceledException) when (context.Options.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(CancelledStatus);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
        }
    }

    static readonly Status CancelledStatus = new(StatusCode.Cancelled, "Call canceled by the client.");

    /// <summary>One unary call made of one or more attempts; headers, status and trailers are the last attempt's.</summary>
    sealed class RetryingCall<TRequest, TResponse>
        where TRequest : class
        where TResponse : class
    {
        readonly ResourceExhaustedRetryInterceptor owner;
        readonly TRequest request;
        readonly ClientInterceptorContext<TRequest, TResponse> context;
        readonly AsyncUnaryCallContinuation<TRequest, TResponse> continuation;
        readonly CancellationTokenSource disposed = new();
        volatile AsyncUnaryCall<TResponse>? attempt;
        Status? cancelled;

        public RetryingCall(ResourceExhaustedRetryInterceptor owner, TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            this.owner = owner;
            this.request = request;
            this.context = context;
            this.continuation = continuation;
            ResponseAsync = RunAsync();
        }

        public Task<TResponse> ResponseAsync { get; }

        async Task<TResponse> RunAsync()
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.Options.CancellationToken, disposed.Token);
            var resilience = ResilienceContextPool.Shared.Get(stop.Token);
            resilience.Properties.Set(CallDeadline, context.Options.Deadline);
            try
            {
                return await owner.pipeline.ExecuteAsync(static async (_, self) =>
                {
                    self.attempt?.Dispose();
                    var next = self.continuation(self.request, self.context);
                    self.attempt = next;
                    return await next.ResponseAsync.ConfigureAwait(false);
                }, resilience, this).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Cancelled while waiting between attempts: report it the way a gRPC call does.
                cancelled = CancelledStatus;
                throw new RpcException(CancelledStatus);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(resilience);
            }
        }

        public async Task<Metadata> ResponseHeadersAsync()
        {
            try
            {
                await ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException) when (attempt is not null)
            {
                // The last attempt's headers, below.
            }
            return await attempt!.ResponseHeadersAsync.ConfigureAwait(false);
        }

        public Status GetStatus() => cancelled ?? Current.GetStatus();

        public Metadata GetTrailers() => cancelled is null ? Current.GetTrailers() : [];

        AsyncUnaryCall<TResponse> Current =>
            attempt ?? throw new InvalidOperationException("Unable to get the status because the call is not complete.");

        public void Dispose()
        {
            disposed.Cancel();
            attempt?.Dispose();
        }
    }
}
