using Grpc.Core;
using Grpc.Core.Interceptors;
using Platform.AudioQueue.V1;

namespace Platform.Client;

/// <summary>
/// Gives an Enqueue without an idempotency key one of its own, so that the channel's retry of UNAVAILABLE
/// cannot queue the same audio twice: AudioQueue answers UNAVAILABLE also when Redis was slow to confirm
/// a job it may have stored (audioqueue.proto). Each call still makes a new job, as it would without a key.
/// </summary>
sealed class EnqueueIdempotencyInterceptor : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithKey(request), context);

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithKey(request), context);

    static TRequest WithKey<TRequest>(TRequest request) where TRequest : class
    {
        if (request is not EnqueueRequest { IdempotencyKey.Length: 0 } enqueue)
        {
            return request;
        }
        // A copy, so the caller's message is not changed; the audio bytes are shared, not copied.
        var keyed = enqueue.Clone();
        keyed.IdempotencyKey = "client:" + Guid.NewGuid().ToString("N");
        return (TRequest)(object)keyed;
    }
}
