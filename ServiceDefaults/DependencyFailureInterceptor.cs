using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Platform.ServiceDefaults;

/// <summary>
/// Turns a Redis outage into UNAVAILABLE with an ErrorInfo reason (instead of UNKNOWN with a stack
/// trace), so callers know the request can be retried and nothing was half-done on our side.
/// </summary>
public sealed partial class DependencyFailureInterceptor(ILogger<DependencyFailureInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw RedisUnavailable(context, e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw RedisUnavailable(context, e);
        }
    }

    static bool IsRedisFailure(Exception e) => RedisFailures.IsUnavailable(e);

    RpcException RedisUnavailable(ServerCallContext context, Exception e)
    {
        LogRedisUnavailable(context.Method, e.Message);
        return GrpcErrors.Unavailable("redis", "Redis is unreachable; nothing was changed. Retry later.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} failed: Redis unreachable ({Reason})")]
    partial void LogRedisUnavailable(string method, string reason);
}
