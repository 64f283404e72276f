using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Platform.ServiceDefaults.Auth;

/// <summary>Marks an admin RPC: only the admin role may call it, and every call is audit-logged.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AdminRpcAttribute : AuthorizeAttribute
{
    public AdminRpcAttribute() => Roles = PlatformRoles.Admin;
}

/// <summary>
/// The audit trail of admin actions: one structured log event (EventId 9001, "AdminAudit") per call,
/// with who (team and credential name), what (RPC and request), when (the log timestamp) and the outcome.
/// Refused attempts are logged too (by <see cref="PlatformAuthorizationResultHandler"/>).
/// </summary>
public static partial class AdminAudit
{
    public static bool IsAdminRpc(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<AdminRpcAttribute>() is not null;

    [LoggerMessage(EventId = 9001, EventName = "AdminAudit", Level = LogLevel.Information,
        Message = "Audit: team {Team} (credential {Credential}) called {Rpc} with {Request}: {Outcome}")]
    public static partial void Called(ILogger logger, string team, string credential, string rpc, string request, string outcome);

    [LoggerMessage(EventId = 9002, EventName = "AdminAuditRefused", Level = LogLevel.Warning,
        Message = "Audit: {Rpc} refused for team {Team} (credential {Credential}): {Outcome}")]
    public static partial void Refused(ILogger logger, string team, string credential, string rpc, string outcome);
}

/// <summary>Writes the audit event of every admin RPC that passed authorization, with its outcome.</summary>
public sealed class AdminAuditInterceptor(ILogger<AdminAuditInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!AdminAudit.IsAdminRpc(context.GetHttpContext()))
        {
            return await continuation(request, context);
        }
        var caller = Caller.Of(context);
        var outcome = nameof(StatusCode.Internal);
        try
        {
            var response = await continuation(request, context);
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
            AdminAudit.Called(logger, caller.Team, caller.Credential, context.Method, request?.ToString() ?? "", outcome);
        }
    }
}
