using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Code = Google.Rpc.Code;
using ErrorInfo = Google.Rpc.ErrorInfo;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Answers a refused call in the caller's own protocol, saying what to fix: gRPC callers get
/// UNAUTHENTICATED or PERMISSION_DENIED with a message and ErrorInfo (ASP.NET Core's default would be a
/// bare HTTP 401/403, which gRPC clients report as "Bad gRPC response"); HTTP/JSON callers get 401/403
/// with a google.rpc.Status-shaped JSON body, as JSON transcoding answers every other error.
/// </summary>
public sealed class PlatformAuthorizationResultHandler(ILogger<PlatformAuthorizationResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    readonly AuthorizationMiddlewareResultHandler allowed = new();

    /// <summary>google.rpc.Status in its JSON form, the shape JSON transcoding gives every other error.</summary>
    static readonly JsonFormatter StatusJson = new(JsonFormatter.Settings.Default.WithTypeRegistry(TypeRegistry.FromMessages(ErrorInfo.Descriptor)));

    public async Task HandleAsync(RequestDelegate next, HttpContext http, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Succeeded)
        {
            await allowed.HandleAsync(next, http, policy, result);
            return;
        }

        var user = http.User.Identity?.IsAuthenticated == true ? Caller.Of(http.User) : null;
        Google.Rpc.Status status;
        if (result.Challenged || user is null)
        {
            // The handler keeps its result for the request, so this does not check the key again.
            var failure = (await http.AuthenticateAsync()).Failure?.Message;
            status = new Google.Rpc.Status
            {
                Code = (int)Code.Unauthenticated,
                Message = (failure ?? "No API key was sent.") + " Send your team's key as 'authorization: Bearer <key>'.",
                Details = { Any.Pack(new ErrorInfo { Reason = failure is null ? "API_KEY_MISSING" : "API_KEY_INVALID", Domain = GrpcErrors.Domain }) },
            };
        }
        else
        {
            var roles = result.AuthorizationFailure?.FailedRequirements.OfType<RolesAuthorizationRequirement>()
                .SelectMany(r => r.AllowedRoles).Distinct().ToList() ?? [];
            var role = string.Join(" or ", roles);
            status = Caller.PermissionDeniedStatus($"Team '{user.Team}' (credential '{user.Credential}') lacks the role this call needs: {role}.", role);
        }

        if (AdminAudit.IsAdminRpc(http))
        {
            if (user is null)
            {
                AdminAudit.RefusedUnauthenticated(logger, http.Request.Path);
            }
            else
            {
                AdminAudit.Refused(logger, user.Team, user.Credential, http.Request.Path, ((Code)status.Code).ToString());
            }
        }
        await (IsGrpc(http.Request) ? WriteGrpcAsync(http.Response, status) : WriteJsonAsync(http.Response, status));
    }

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
