using System.Security.Claims;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// The authenticated caller of an RPC. Its team scopes everything it touches: team data is stored
/// under "team/name", so one team can neither read nor change another's, whatever names it sends.
/// </summary>
public sealed record Caller(string Team, string Credential, bool IsAdmin)
{
    public const string CredentialClaim = "platform:credential";
    /// <summary>Separates the team from the name it scopes; team names cannot contain it.</summary>
    public const char ScopeSeparator = '/';

    public static Caller Of(ServerCallContext context) => Of(context.GetHttpContext().User);

    public static Caller Of(ClaimsPrincipal user) =>
        (user as PlatformPrincipal)?.Caller ?? throw new InvalidOperationException("The call is not authenticated; is AddPlatformAuth missing?");

    /// <summary>A name (cache namespace, rate-limit key, queue tenant) as stored for this caller's team.</summary>
    public string Scope(string name) => Scope(Team, name);

    public static string Scope(string team, string name) => team + ScopeSeparator + name;

    /// <summary>The team of a scoped name, and the name as its team knows it.</summary>
    public static (string Team, string Name) Unscope(string scoped) =>
        scoped.IndexOf(ScopeSeparator) is var at and >= 0 ? (scoped[..at], scoped[(at + 1)..]) : ("", scoped);

    /// <summary>True when this caller may see data of <paramref name="team"/>: its own, or any for an admin.</summary>
    public bool CanAccess(string team) => IsAdmin || team == Team;

    /// <summary>
    /// The team a request acts on: the caller's own, or for an admin the one named in the request's
    /// <c>team</c> field (the call is then audited). Anyone else naming another team gets PERMISSION_DENIED.
    /// </summary>
    public static string ActingTeam(ServerCallContext context, string requestedTeam)
    {
        var team = Of(context).ActingTeam(requestedTeam);
        AdminAudit.NoteAccessTo(context, team);
        return team;
    }

    string ActingTeam(string requestedTeam)
    {
        if (requestedTeam.Length == 0 || requestedTeam == Team)
        {
            return Team;
        }
        new RequestValidator()
            .Check(PlatformAuthOptionsValidator.IsTeamName(requestedTeam), "team", "empty (your own team) or " + PlatformAuthOptionsValidator.TeamRule)
            .ThrowIfInvalid();
        if (!IsAdmin)
        {
            throw PermissionDenied($"Only the admin role may act on another team's data (field 'team' = '{requestedTeam}'); leave it empty for your own team '{Team}'.", PlatformRoles.Admin);
        }
        return requestedTeam;
    }

    public static RpcException PermissionDenied(string message, string role) => PermissionDeniedStatus(message, role).ToRpcException();

    public static Google.Rpc.Status PermissionDeniedStatus(string message, string role) =>
        new()
        {
            Code = (int)Code.PermissionDenied,
            Message = message,
            Details = { Any.Pack(new ErrorInfo { Reason = "ROLE_REQUIRED", Domain = GrpcErrors.Domain, Metadata = { ["role"] = role } }) },
        };
}
