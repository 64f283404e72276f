using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
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
    /// <summary>google.rpc.Status in its JSON form, the shape JSON transcoding gives every other error.</summary>
    static readonly JsonFormatter StatusJson = new(JsonFormatter.Settings.Default.WithTypeRegistry(TypeRegistry.FromMessages(ErrorInfo.Descriptor)));

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

    static Task WriteAsync(HttpContext http, Google.Rpc.Status status) =>
        IsGrpc(http.Request) ? WriteGrpcAsync(http.Response, status) : WriteJsonAsync(http.Response, status);

    static bool IsGrpc(HttpRequest request) =>
        request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A trailers-only gRPC response: the status travels in the headers and the call ends there.</summary>
    static Task WriteGrpcAsync(HttpResponse response, Google.Rpc.Status status)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = status.Code.ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(status.Message);
        response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray());
        return Task.CompletedTask;
    }

    static Task WriteJsonAsync(HttpResponse response, Google.Rpc.Status status)
    {
        response.StatusCode = status.Code == (int)Code.Unauthenticated ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
        if (status.Code == (int)Code.Unauthenticated)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }
        response.ContentType = "application/json";
        return response.WriteAsync(StatusJson.Format(status));
    }
}
