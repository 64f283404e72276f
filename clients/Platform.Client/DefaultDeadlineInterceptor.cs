using Grpc.Core;
using Grpc.Core.Interceptors;
using Platform.AudioQueue.V1;
using Platform.Cache.V1;

namespace Platform.Client;

/// <summary>
/// Gives a unary call without a deadline one: the service's default plus any wait the request itself
/// asks the server for, so a long poll is not cut short by the default meant for ordinary calls.
/// Streaming calls are left alone: a WatchJob stream lives as long as its job, and keep-alive pings
/// (see AddPlatformClients) find a dead connection instead.
/// </summary>
sealed class DefaultDeadlineInterceptor(Func<TimeSpan> defaultDeadline) : Interceptor
{
    // The servers' own defaults when the field is unset (cache.proto, audioqueue.proto).
    static readonly TimeSpan LookupDefaultWait = TimeSpan.FromSeconds(10);

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDefaultDeadline(request, context));

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDefaultDeadline(request, context));

    ClientInterceptorContext<TRequest, TResponse> WithDefaultDeadline<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        var deadline = defaultDeadline();
        if (context.Options.Deadline is not null || deadline == Timeout.InfiniteTimeSpan)
        {
            return context;
        }
        // The wall clock, not a TimeProvider: gRPC turns the deadline into grpc-timeout against DateTime.UtcNow.
        var at = DateTime.UtcNow + deadline + RequestedWait(request);
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithDeadline(at));
    }

    /// <summary>How long the request asks the server to wait before it answers.</summary>
    internal static TimeSpan RequestedWait(object request) => request switch
    {
        LookupRequest lookup => lookup.MaxWait?.ToTimeSpan() ?? LookupDefaultWait,
        LeaseRequest lease => lease.MaxWait?.ToTimeSpan() ?? TimeSpan.Zero,
        _ => TimeSpan.Zero,
    };
}
