using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// The configured credentials, kept only as SHA-256 hashes of their keys (reloaded when configuration
/// changes). A presented key is compared with every hash in constant time, so timing says nothing about
/// which key is close; keys are never logged.
/// </summary>
public sealed class ApiKeyStore
{
    sealed record Entry(string Credential, string Team, string[] Roles, byte[] Hash);

    volatile Entry[] entries;
    volatile Entry? anonymous;

    public ApiKeyStore(IOptionsMonitor<PlatformAuthOptions> options)
    {
        (entries, anonymous) = Build(options.CurrentValue);
        options.OnChange(settings => (entries, anonymous) = Build(settings));
    }

    /// <summary>The caller a key belongs to; null when no credential has it.</summary>
    public ClaimsPrincipal? Find(string key)
    {
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        Entry? match = null;
        foreach (var entry in entries)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, entry.Hash))
            {
                match = entry;
            }
        }
        return match is null ? null : Principal(match);
    }

    /// <summary>The caller a request without a key acts as; null unless anonymous access is allowed.</summary>
    public ClaimsPrincipal? Anonymous => anonymous is { } entry ? Principal(entry) : null;

    static ClaimsPrincipal Principal(Entry entry) => new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, entry.Team),
            new Claim(Caller.CredentialClaim, entry.Credential),
            .. entry.Roles.Select(role => new Claim(ClaimTypes.Role, role)),
        ],
        ApiKeyAuthenticationHandler.SchemeName));

    static (Entry[], Entry?) Build(PlatformAuthOptions options) =>
    (
        options.Credentials.Select(c => new Entry(
            c.Key,
            c.Value.Team.Length > 0 ? c.Value.Team : c.Key,
            c.Value.Roles.Count > 0 ? [.. c.Value.Roles] : [PlatformRoles.User],
            SHA256.HashData(Encoding.UTF8.GetBytes(c.Value.Key)))).ToArray(),
        options.AllowAnonymous ? new Entry("anonymous", options.AnonymousTeam, [.. options.EffectiveAnonymousRoles], []) : null
    );
}

/// <summary>Authenticates <c>authorization: Bearer &lt;key&gt;</c> against <see cref="ApiKeyStore"/>.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    const string Bearer = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(keys.Anonymous is { } anonymous ? Success(anonymous) : AuthenticateResult.NoResult());
        }
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("The authorization metadata must be 'Bearer <key>'."));
        }
        return Task.FromResult(keys.Find(header[Bearer.Length..].Trim()) is { } caller
            ? Success(caller)
            : AuthenticateResult.Fail("The API key is not valid for this service."));
    }

    AuthenticateResult Success(ClaimsPrincipal caller) => AuthenticateResult.Success(new AuthenticationTicket(caller, SchemeName));
}
