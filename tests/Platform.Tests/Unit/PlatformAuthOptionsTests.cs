using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Unit;

public sealed class PlatformAuthOptionsTests
{
    static PlatformCredential Credential(string key, string team = "", params string[] roles) => new() { Key = key, Team = team, Roles = [.. roles] };

    static IEnumerable<string> Failures(PlatformAuthOptions options) =>
        new PlatformAuthOptionsValidator().Validate(null, options).Failures ?? [];

    [Fact]
    public void A_service_without_credentials_refuses_to_start_unless_anonymous_access_is_asked_for()
    {
        Assert.Contains(Failures(new PlatformAuthOptions()), f => f.Contains("Auth:Credentials") && f.Contains("Auth:AllowAnonymous"));
        Assert.Empty(Failures(new PlatformAuthOptions { AllowAnonymous = true }));
    }

    [Fact]
    public void Each_bad_credential_is_named_with_the_rule_it_breaks()
    {
        var failures = Failures(new PlatformAuthOptions
        {
            Credentials =
            {
                ["short"] = Credential("too-short"),
                ["slash"] = Credential("a-long-enough-key-1", "team/a"),
                ["role"] = Credential("a-long-enough-key-2", "", "owner"),
                ["twin-1"] = Credential("a-long-enough-key-3"),
                ["twin-2"] = Credential("a-long-enough-key-3"),
            },
        }).ToList();

        Assert.Contains(failures, f => f.Contains("Auth:Credentials:short:Key") && f.Contains("16"));
        Assert.Contains(failures, f => f.Contains("Auth:Credentials:slash:Team 'team/a'"));
        Assert.Contains(failures, f => f.Contains("Auth:Credentials:role:Roles: 'owner'"));
        Assert.Contains(failures, f => f.Contains("same key"));
        Assert.Equal(4, failures.Count);
    }

    [Fact]
    public void Anonymous_callers_can_neither_be_admins_nor_share_a_configured_team()
    {
        var failures = Failures(new PlatformAuthOptions
        {
            AllowAnonymous = true,
            AnonymousTeam = "payments",
            AnonymousRoles = ["user", "admin"],
            Credentials = { ["payments"] = Credential("a-long-enough-key-1") },
        }).ToList();

        Assert.Contains(failures, f => f.Contains("'payments' is a configured team"));
        Assert.Contains(failures, f => f.Contains("must not include admin"));
        Assert.Equal(["user"], new PlatformAuthOptions().EffectiveAnonymousRoles);
    }

    [Fact]
    public void A_credential_without_a_team_is_its_own_team()
    {
        Assert.Empty(Failures(new PlatformAuthOptions { Credentials = { ["payments"] = Credential("a-long-enough-key-1", "", "user", "admin") } }));
    }
}
