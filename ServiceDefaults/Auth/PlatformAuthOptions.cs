using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

/// <summary>The roles a credential can carry.</summary>
public static class PlatformRoles
{
    /// <summary>Reads and writes its own team's data.</summary>
    public const string User = "user";
    /// <summary>Admin RPCs (Reset, Clear, Pause, Requeue, SetConcurrency…), on any team's data: for operators.</summary>
    public const string Admin = "admin";
    /// <summary>Leases AudioQueue jobs, which carries every team's audio: for processing workers only.</summary>
    public const string Worker = "worker";

    /// <summary>For [Authorize(Roles = ...)]: either role.</summary>
    public const string UserOrAdmin = User + "," + Admin;

    public static readonly IReadOnlySet<string> All = new HashSet<string>([User, Admin, Worker]);
}

/// <summary>
/// Who may call a service (configuration section <c>Auth</c>). Each credential is an API key, sent as
/// gRPC metadata (or HTTP header) <c>authorization: Bearer &lt;key&gt;</c>, mapped to a team and roles.
/// Several credentials may name one team, so a key can be rotated without downtime.
/// </summary>
public sealed class PlatformAuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>Credentials by name (the name is logged, the key never is).</summary>
    public Dictionary<string, PlatformCredential> Credentials { get; set; } = [];

    /// <summary>
    /// Development only: calls without an authorization header act as <see cref="AnonymousTeam"/> with
    /// <see cref="AnonymousRoles"/>. A wrong key is refused even then. The service warns at start-up.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    public string AnonymousTeam { get; set; } = "anonymous";

    /// <summary>Empty: user. (Not defaulted here: configuration binding would add to the default instead of replacing it.)</summary>
    public List<string> AnonymousRoles { get; set; } = [];

    public IReadOnlyList<string> EffectiveAnonymousRoles => AnonymousRoles.Count > 0 ? AnonymousRoles : [PlatformRoles.User];
}

public sealed class PlatformCredential
{
    /// <summary>The API key: at least 16 characters; generate it (e.g. <c>openssl rand -hex 32</c>).</summary>
    public string Key { get; set; } = "";

    /// <summary>The team whose data the key reaches. Empty: the credential's name.</summary>
    public string Team { get; set; } = "";

    /// <summary>user, admin, worker. Empty: user.</summary>
    public List<string> Roles { get; set; } = [];
}

public sealed partial class PlatformAuthOptionsValidator : IValidateOptions<PlatformAuthOptions>
{
    public const int MinKeyLength = 16;
    public const string TeamRule = "1-64 characters [A-Za-z0-9_-]";

    public ValidateOptionsResult Validate(string? name, PlatformAuthOptions options)
    {
        var errors = new List<string>();
        if (options.Credentials.Count == 0 && !options.AllowAnonymous)
        {
            errors.Add("Auth: no credentials configured, so every call would be refused. Configure Auth:Credentials:<name>:Key/Team/Roles, or set Auth:AllowAnonymous=true (development only).");
        }
        foreach (var (credential, settings) in options.Credentials)
        {
            if (settings.Key.Length < MinKeyLength)
            {
                errors.Add($"Auth:Credentials:{credential}:Key must be at least {MinKeyLength} characters.");
            }
            var team = settings.Team.Length > 0 ? settings.Team : credential;
            if (!IsTeamName(team))
            {
                errors.Add($"Auth:Credentials:{credential}:Team '{team}' must be {TeamRule}.");
            }
            errors.AddRange(settings.Roles.Where(role => !PlatformRoles.All.Contains(role))
                .Select(role => $"Auth:Credentials:{credential}:Roles: '{role}' is not one of user, admin, worker."));
        }
        if (options.Credentials.Values.GroupBy(c => c.Key, StringComparer.Ordinal).Any(g => g.Key.Length > 0 && g.Count() > 1))
        {
            errors.Add("Auth:Credentials: two credentials have the same key; each key must map to one team.");
        }
        if (options.AllowAnonymous && !IsTeamName(options.AnonymousTeam))
        {
            errors.Add($"Auth:AnonymousTeam must be {TeamRule}.");
        }
        if (options.AllowAnonymous && options.Credentials.Any(c => (c.Value.Team.Length > 0 ? c.Value.Team : c.Key) == options.AnonymousTeam))
        {
            errors.Add($"Auth:AnonymousTeam '{options.AnonymousTeam}' is a configured team: callers without a key would reach its data.");
        }
        if (options.AnonymousRoles.Contains(PlatformRoles.Admin))
        {
            errors.Add("Auth:AnonymousRoles must not include admin: anyone could clear caches and pause the queue.");
        }
        errors.AddRange(options.AnonymousRoles.Where(role => !PlatformRoles.All.Contains(role))
            .Select(role => $"Auth:AnonymousRoles: '{role}' is not one of user, admin, worker."));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Team names prefix scoped data ("team/namespace"), so they cannot contain '/' themselves.</summary>
    public static bool IsTeamName(string team) => TeamName().IsMatch(team);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex TeamName();
}
