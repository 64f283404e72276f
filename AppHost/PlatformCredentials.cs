namespace Platform.AppHost;

/// <summary>
/// The API keys the AppHost hands out (secret parameters, generated for each run unless set, e.g.
/// <c>dotnet user-secrets set Parameters:operator-key ...</c>): ChatApi's own key (team "chat", role user)
/// and the operators' key (team "platform", roles user and admin), which the dashboard shows under Parameters.
/// Other teams' keys are configured on the services (Auth:Credentials:&lt;name&gt;:Key/Team/Roles).
/// </summary>
public sealed record PlatformCredentials(IResourceBuilder<ParameterResource> ChatApiKey, IResourceBuilder<ParameterResource> OperatorKey);

public static class PlatformCredentialsExtensions
{
    public static PlatformCredentials AddPlatformCredentials(this IDistributedApplicationBuilder builder)
    {
        var generated = new GenerateParameterDefault { MinLength = 32, Special = false };
        return new(
            builder.AddParameter("chatapi-key", generated, secret: true).WithDescription("The key ChatApi presents to RateLimit, Cache and AudioQueue (team chat)."),
            builder.AddParameter("operator-key", generated, secret: true).WithDescription("The operators' key for every service: team platform, roles user and admin."));
    }

    /// <summary>Makes a gRPC service accept the platform's credentials.</summary>
    public static IResourceBuilder<ProjectResource> WithCredentials(this IResourceBuilder<ProjectResource> service, PlatformCredentials credentials) =>
        service
            .WithEnvironment("Auth__Credentials__chatapi__Key", credentials.ChatApiKey)
            .WithEnvironment("Auth__Credentials__chatapi__Team", "chat")
            .WithEnvironment("Auth__Credentials__chatapi__Roles__0", "user")
            .WithEnvironment("Auth__Credentials__operator__Key", credentials.OperatorKey)
            .WithEnvironment("Auth__Credentials__operator__Team", "platform")
            .WithEnvironment("Auth__Credentials__operator__Roles__0", "user")
            .WithEnvironment("Auth__Credentials__operator__Roles__1", "admin");
}
