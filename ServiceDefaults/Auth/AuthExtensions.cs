using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

public static partial class AuthExtensions
{
    /// <summary>
    /// Every call needs a credential (section <c>Auth</c>, see <see cref="PlatformAuthOptions"/>), except
    /// health checks and reflection. Services mark their classes with the roles they need and admin RPCs with
    /// <see cref="AdminRpcAttribute"/>; they scope data by <see cref="Caller.Of(Grpc.Core.ServerCallContext)"/>.
    /// </summary>
    public static TBuilder AddPlatformAuth<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<PlatformAuthOptions>().BindConfiguration(PlatformAuthOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PlatformAuthOptions>, PlatformAuthOptionsValidator>();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<AuthRefusals>();
        builder.Services.AddHostedService<AnonymousAccessWarning>();
        // PlatformAuthMiddleware enforces the [Authorize] metadata (MapDefaultEndpoints adds it), not ASP.NET Core's
        // authorization middleware, which the endpoint middleware would otherwise insist on.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteOptions>(routing => routing.SuppressCheckForUnhandledSecurityMetadata = true);
        return builder;
    }

    /// <summary>Adds <see cref="PlatformAuthMiddleware"/> after routing, when the service called <see cref="AddPlatformAuth{TBuilder}"/>.</summary>
    public static IApplicationBuilder UsePlatformAuth(this IApplicationBuilder app) =>
        app.ApplicationServices.GetService<ApiKeyStore>() is null ? app : app.UseMiddleware<PlatformAuthMiddleware>();

    /// <summary>Says at start-up, loudly, when calls without a key are let in.</summary>
    sealed partial class AnonymousAccessWarning(IOptions<PlatformAuthOptions> options, ILogger<AnonymousAccessWarning> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (options.Value.AllowAnonymous)
            {
                LogAnonymous(logger, options.Value.AnonymousTeam, string.Join(", ", options.Value.EffectiveAnonymousRoles));
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Warning, Message = "Auth:AllowAnonymous is on: calls without an API key act as team '{Team}' with roles [{Roles}]. Development only; never in production.")]
        static partial void LogAnonymous(ILogger logger, string team, string roles);
    }
}
