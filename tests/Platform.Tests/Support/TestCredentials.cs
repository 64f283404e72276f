using Grpc.Net.Client;

namespace Platform.Tests.Support;

/// <summary>An API key the services under test are configured with.</summary>
public sealed record TestCredential(string Name, string Team, string Key, params string[] Roles);

public static class TestCredentials
{
    /// <summary>What every ServiceHost accepts by default: one team with every role.</summary>
    public static readonly TestCredential Tests = new("tests", "tests", "tests-key-0123456789abcdef", "user", "admin", "worker");

    /// <summary>The Auth:Credentials settings for these credentials.</summary>
    public static IEnumerable<(string Key, string? Value)> Settings(params TestCredential[] credentials)
    {
        foreach (var credential in credentials)
        {
            var prefix = $"Auth:Credentials:{credential.Name}:";
            yield return (prefix + "Key", credential.Key);
            yield return (prefix + "Team", credential.Team);
            for (var i = 0; i < credential.Roles.Length; i++)
            {
                yield return (prefix + $"Roles:{i}", credential.Roles[i]);
            }
        }
    }

    /// <summary>A channel that sends the credential's key as `authorization: Bearer` on every call.</summary>
    public static GrpcChannel Channel(Uri address, TestCredential credential) => PlatformChannel.ForAddress(address, credential.Key);
}
