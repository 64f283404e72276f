using Grpc.Core;
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
    const string OtherTeamItem = "platform.audit.other-team";

    public static bool IsAdminRpc(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<AdminRpcAttribute>() is not null;

    /// <summary>Marks the call as touching <paramref name="team"/>'s data; when that is not the caller's own (an admin's privilege), the call is audited.</summary>
    public static void NoteAccessTo(ServerCallContext context, string team)
    {
        if (team != Caller.Of(context).Team)
        {
            context.GetHttpContext().Items[OtherTeamItem] = team;
        }
    }

    /// <summary>Whether a call can end up audited: an admin RPC, or any call by an admin (who may reach another team's data).</summary>
    public static bool MayBeAudited(HttpContext http) =>
        IsAdminRpc(http) || http.User is PlatformPrincipal { Caller.IsAdmin: true };

    /// <summary>Admin RPCs, and any call in which an admin reached another team's data.</summary>
    public static bool IsAudited(HttpContext http) => IsAdminRpc(http) || http.Items.ContainsKey(OtherTeamItem);

    /// <summary>Logs the call when it is audited (<see cref="IsAudited"/>), with the outcome the caller got.</summary>
    public static void Record(ILogger logger, ServerCallContext context, object? request, string outcome)
    {
        if (IsAudited(context.GetHttpContext()))
        {
            var caller = Caller.Of(context);
            Called(logger, caller.Team, caller.Credential, context.Method, request?.ToString() ?? "", outcome);
        }
    }

    [LoggerMessage(EventId = 9001, EventName = "AdminAudit", Level = LogLevel.Information,
        Message = "Audit: team {Team} (credential {Credential}) called {Rpc} with {Request}: {Outcome}")]
    public static partial void Called(ILogger logger, string team, string credential, string rpc, string request, string outcome);

    [LoggerMessage(EventId = 9002, EventName = "AdminAuditRefused", Level = LogLevel.Warning,
        Message = "Audit: {Rpc} refused for team {Team} (credential {Credential}): {Outcome}")]
    public static partial void Refused(ILogger logger, string team, string credential, string rpc, string outcome);

    /// <summary>Debug, not Warning: anyone who reaches the port can send these, and must not be able to flood the log.</summary>
    [LoggerMessage(EventId = 9003, EventName = "AdminAuditUnauthenticated", Level = LogLevel.Debug,
        Message = "Audit: {Rpc} refused without a valid key")]
    public static partial void RefusedUnauthenticated(ILogger logger, string rpc);
}
