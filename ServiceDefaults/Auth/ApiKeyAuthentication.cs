using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Platform.ServiceDefaults.Auth;

/// <summary>The outcome of reading a call's <c>authorization</c>: its caller, or why there is none.</summary>
/// <param name="Failure">Null when no key was sent; else what was wrong with it (safe to show the caller).</param>
public readonly record struct Authentication(PlatformPrincipal? Caller, string? Failure);

/// <summary>
/// The configured credentials, kept only as SHA-256 hashes of their keys (reloaded when configuration
/// changes); see <see cref="ApiKeyHash"/>. Each credential's principal is built once and shared by every
/// call that presents its key: authentication allocates nothing per call.
/// </summary>
/// <remarks>
/// Sharing is safe because nothing mutates a principal after authentication here (no claims
/// transformation runs; <see cref="Caller"/> only reads it).
/// </remarks>
public sealed class ApiKeyStore
{
    const string Bearer = "Bearer ";
    static readonly Authentication NotBearer = new(null, "The authorization metadata must be one 'Bearer <key>'.");
    static readonly Authentication UnknownKey = new(null, "The API key is not valid for this service.");

    sealed record Entry(PlatformPrincipal Principal, byte[] Hash);

    volatile Entry[] entries;
    volatile PlatformPrincipal? anonymous;

    public ApiKeyStore(IOptionsMonitor<PlatformAuthOptions> options, WarmUpCredential warmUp)
    {
        // The process's own warm-up calls (never an admin: they touch only their own team's data).
        var warmUpEntry = new Entry(PlatformPrincipal.Of(WarmUpCredential.Team, "warm-up", [PlatformRoles.User, PlatformRoles.Worker]), ApiKeyHash.Of(warmUp.Key));
        (entries, anonymous) = Build(options.CurrentValue, warmUpEntry);
        options.OnChange(settings => (entries, anonymous) = Build(settings, warmUpEntry));
    }

    /// <summary>
    /// The caller of <c>authorization: Bearer &lt;key&gt;</c>; without the header, the anonymous caller when
    /// Auth:AllowAnonymous is on. A wrong key is refused even then.
    /// </summary>
    public Authentication Authenticate(StringValues authorization)
    {
        if (authorization.Count == 0 || (authorization.Count == 1 && string.IsNullOrEmpty(authorization[0])))
        {
            return new Authentication(anonymous, null);
        }
        var header = authorization.Count == 1 ? authorization[0].AsSpan() : default;
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return NotBearer;
        }
        return ApiKeyHash.Find(header[Bearer.Length..].Trim(), entries, static e => e.Hash) is { } entry
            ? new Authentication(entry.Principal, null)
            : UnknownKey;
    }

    static (Entry[], PlatformPrincipal?) Build(PlatformAuthOptions options, Entry warmUp) =>
    (
        [.. options.Credentials.Select(c => new Entry(
            PlatformPrincipal.Of(c.Value.Team.Length > 0 ? c.Value.Team : c.Key, c.Key, c.Value.Roles.Count > 0 ? [.. c.Value.Roles] : [PlatformRoles.User]),
            ApiKeyHash.Of(c.Value.Key))), warmUp],
        options.AllowAnonymous ? PlatformPrincipal.Of(options.AnonymousTeam, "anonymous", [.. options.EffectiveAnonymousRoles]) : null
    );
}

/// <summary>An authenticated caller: the usual claims (name = team, credential, roles), and the <see cref="Caller"/> read from them once.</summary>
public sealed class PlatformPrincipal : ClaimsPrincipal
{
    public const string AuthenticationType = "ApiKey";

    PlatformPrincipal(Caller caller, IReadOnlySet<string> roles, ClaimsIdentity identity) : base(identity) => (Caller, Roles) = (caller, roles);

    public Caller Caller { get; }

    public IReadOnlySet<string> Roles { get; }

    public static PlatformPrincipal Of(string team, string credential, IReadOnlyCollection<string> roles) => new(
        new Caller(team, credential, roles.Contains(PlatformRoles.Admin)),
        roles.ToHashSet(StringComparer.Ordinal),
        new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, team),
            new Claim(Caller.CredentialClaim, credential),
            .. roles.Select(role => new Claim(ClaimTypes.Role, role)),
        ], AuthenticationType));
}
