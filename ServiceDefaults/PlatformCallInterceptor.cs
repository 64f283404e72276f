using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Platform.ServiceDefaults.Auth;

namespace Platform.ServiceDefaults;

/// <summary>
/// What becomes of a call's outcome, in every service:
/// <list type="bullet">
/// <item>a Redis outage becomes UNAVAILABLE with an ErrorInfo reason (instead of UNKNOWN with a stack trace), so
/// callers know the request can be retried and nothing was half-done on our side;</item>
/// <item>an admin RPC, and any call in which an admin reached another team's data, is audited with the status
/// the caller got (<see cref="AdminAudit"/>).</item>
/// </list>
/// One interceptor, not one per concern: grpc-dotnet gives each interceptor an asynchronous frame and an
/// activation on every call. Calls that cannot be audited (a user's call of a user RPC: nearly all) skip
/// the audit entirely.
/// </summary>
public sealed partial class PlatformCallInterceptor(ILogger<PlatformCallInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        AdminAudit.MayBeAudited(context.GetHttpContext()) ? AuditedUnaryAsync(request, context, continuation) : UnaryAsync(request, context, continuation);

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        AdminAudit.MayBeAudited(context.GetHttpContext())
            ? AuditedServerStreamingAsync(request, responseStream, context, continuation)
            : ServerStreamingAsync(request, responseStream, context, continuation);

    async Task<TResponse> UnaryAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            throw RedisUnavailable(context, e);
        }
    }

    async Task ServerStreamingAsync<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            throw RedisUnavailable(context, e);
        }
    }

    async Task<TResponse> AuditedUnaryAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        var outcome = nameof(StatusCode.Internal);
        try
        {
            var response = await UnaryAsync(request, context, continuation);
            outcome = "OK";
            return response;
        }
        catch (RpcException e)
        {
            outcome = e.StatusCode + ": " + e.Status.Detail;
            throw;
        }
        finally
        {
            AdminAudit.Record(logger, context, request, outcome);
        }
    }

    async Task AuditedServerStreamingAsync<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        var outcome = nameof(StatusCode.Internal);
        try
        {
            await ServerStreamingAsync(request, responseStream, context, continuation);
            outcome = "OK";
        }
        catch (RpcException e)
        {
            outcome = e.StatusCode + ": " + e.Status.Detail;
            throw;
        }
        finally
        {
            AdminAudit.Record(logger, context, request, outcome);
        }
    }

    RpcException RedisUnavailable(ServerCallContext context, Exception e)
    {
        LogRedisUnavailable(context.Method, e.Message);
        return GrpcErrors.Unavailable("redis", "Redis is unreachable; nothing was changed. Retry later.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} failed: Redis unreachable ({Reason})")]
    partial void LogRedisUnavailable(string method, string reason);
}
