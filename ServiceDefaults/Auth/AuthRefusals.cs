using Google.Protobuf.WellKnownTypes;
using Code = Google.Rpc.Code;
using ErrorInfo = Google.Rpc.ErrorInfo;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Answers a refused call in the caller's own protocol, saying what to fix: gRPC callers get
/// UNAUTHENTICATED or PERMISSION_DENIED with a message and ErrorInfo (a bare HTTP 401/403 would read as
/// "Bad gRPC response" to gRPC clients); HTTP/JSON callers get 401/403 with a google.rpc.Status-shaped JSON
/// body, as JSON transcoding answers every other error. A refused admin RPC is audited.
/// </summary>
public sealed class AuthRefusals(ILogger<AuthRefusals> logger)
{
    /// <param name="failure">Null when no key was sent; else what was wrong with the key.</param>
    public Task UnauthenticatedAsync(HttpContext http, string? failure)
    {
        if (AdminAudit.IsAdminRpc(http))
        {
            AdminAudit.RefusedUnauthenticated(logger, http.Request.Path);
        }
        return WriteAsync(http, new Google.Rpc.Status
        {
            Code = (int)Code.Unauthenticated,
            Message = (failure ?? "No API key was sent.") + " Send your team's key as 'authorization: Bearer <key>'.",
            Details = { Any.Pack(new ErrorInfo { Reason = failure is null ? "API_KEY_MISSING" : "API_KEY_INVALID", Domain = GrpcErrors.Domain }) },
        });
    }

    /// <param name="role">The role (or roles, "a or b") the call needs.</param>
    public Task ForbiddenAsync(HttpContext http, Caller caller, string role)
    {
        var status = Caller.PermissionDeniedStatus($"Team '{caller.Team}' (credential '{caller.Credential}') lacks the role this call needs: {role}.", role);
        if (AdminAudit.IsAdminRpc(http))
        {
            AdminAudit.Refused(logger, caller.Team, caller.Credential, http.Request.Path, ((Code)status.Code).ToString());
        }
        return WriteAsync(http, status);
    }

    static Task WriteAsync(HttpContext http, Google.Rpc.Status status)
    {
        var unauthenticated = status.Code == (int)Code.Unauthenticated;
        if (unauthenticated && !StatusResponses.IsGrpc(http.Request))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
        }
        return StatusResponses.WriteAsync(http, status, unauthenticated ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden);
    }
}
