using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Platform.AppHost;

/// <summary>Which Redis-compatible server backs the platform (configuration <c>Redis:Engine</c>).</summary>
public enum RedisEngine
{
    /// <summary>The first that applies: ConnectionString, Container, RedisServer, Garnet.</summary>
    Auto,
    /// <summary>An existing server from <c>ConnectionStrings:redis</c>.</summary>
    ConnectionString,
    /// <summary>Aspire's Redis container (needs a running Docker or Podman).</summary>
    Container,
    /// <summary><c>redis-server</c> from PATH, run as an executable with AOF on.</summary>
    RedisServer,
    /// <summary>Embedded Microsoft Garnet (tools/GarnetHost), so a machine with only the .NET SDK works.</summary>
    Garnet,
}

/// <summary>The Redis the services use: a connection string "redis", plus the resource to wait for, if any.</summary>
public sealed record PlatformRedis(
    RedisEngine Engine, string Reason,
    IResourceBuilder<IResourceWithConnectionString> Connection,
    IResourceBuilder<IResource>? Server)
{
    public void LogChoice(DistributedApplication app) =>
        app.Services.GetRequiredService<ILogger<PlatformRedis>>()
            .LogInformation("Redis engine: {Engine} ({Reason}). Force one with Redis:Engine=ConnectionString|Container|RedisServer|Garnet.", Engine, Reason);
}

public static class RedisEngineExtensions
{
    const string ConnectionName = "redis";

    public static PlatformRedis AddPlatformRedis(this IDistributedApplicationBuilder builder)
    {
        var configured = builder.Configuration.GetValue("Redis:Engine", RedisEngine.Auto);
        var hasConnectionString = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionName));

        var (engine, reason) = configured != RedisEngine.Auto ? (configured, "forced by Redis:Engine")
            : hasConnectionString ? (RedisEngine.ConnectionString, "ConnectionStrings:redis is set")
            // A manifest must describe something a cluster can run: a container, never a local process.
            : builder.ExecutionContext.IsPublishMode ? (RedisEngine.Container, "publish mode")
            : ContainerRuntimeIsRunning() ? (RedisEngine.Container, "a container runtime is running")
            : FindOnPath("redis-server") is not null ? (RedisEngine.RedisServer, "redis-server found on PATH")
            : (RedisEngine.Garnet, "no connection string, container runtime or redis-server");

        return engine switch
        {
            RedisEngine.ConnectionString => new(engine, reason, builder.AddConnectionString(ConnectionName), null),
            RedisEngine.Container => AddContainer(builder, engine, reason),
            RedisEngine.RedisServer => AddRedisServer(builder, engine, reason),
            _ => AddGarnet(builder, engine, reason),
        };
    }

    /// <summary>References the Redis connection and waits until the server answers PING.</summary>
    public static IResourceBuilder<T> WithRedis<T>(this IResourceBuilder<T> resource, PlatformRedis redis)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        resource.WithReference(redis.Connection);
        return redis.Server is null ? resource : resource.WaitFor(redis.Server);
    }

    static PlatformRedis AddContainer(IDistributedApplicationBuilder builder, RedisEngine engine, string reason)
    {
        var redis = builder.AddRedis(ConnectionName).WithDataVolume().WithPersistence();
        return new(engine, reason, redis, redis);
    }

    static PlatformRedis AddRedisServer(IDistributedApplicationBuilder builder, RedisEngine engine, string reason)
    {
        var dataDir = DataDirectory(builder, "redis");
        // A local development engine: its password is an argument (visible in ps to this machine's users).
        // Production uses a managed Redis or the container, whose passwords never appear on a command line.
        var password = Password(builder);
        var server = builder.AddExecutable("redis-server", "redis-server", dataDir)
            .WithEndpoint(name: "tcp", scheme: "tcp", env: "REDIS_PORT");
        var endpoint = server.GetEndpoint("tcp");
        server.WithArgs(context =>
        {
            context.Args.Add("--port");
            context.Args.Add(endpoint.Property(EndpointProperty.TargetPort));
            context.Args.Add("--bind");
            context.Args.Add("127.0.0.1");
            // Every acknowledged write reaches the append-only file within a second and survives a restart.
            context.Args.Add("--appendonly");
            context.Args.Add("yes");
            context.Args.Add("--dir");
            context.Args.Add(dataDir);
            context.Args.Add("--requirepass");
            context.Args.Add(password);
        });
        return WithConnection(builder, engine, reason, server, endpoint, password);
    }

    static PlatformRedis AddGarnet(IDistributedApplicationBuilder builder, RedisEngine engine, string reason)
    {
        var password = Password(builder);
        var server = builder.AddProject<Projects.GarnetHost>("garnet")
            .WithEndpoint(name: "tcp", scheme: "tcp", env: "GARNET_PORT")
            .WithEnvironment("GARNET_DATA", DataDirectory(builder, "garnet"))
            .WithEnvironment("GARNET_PASSWORD", password);
        return WithConnection(builder, engine, reason, server, server.GetEndpoint("tcp"), password);
    }

    /// <summary>The local engine's password: generated each run unless Parameters:redis-password is set.</summary>
    static IResourceBuilder<ParameterResource> Password(IDistributedApplicationBuilder builder) =>
        builder.AddParameter("redis-password", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true);

    static PlatformRedis WithConnection<T>(IDistributedApplicationBuilder builder, RedisEngine engine, string reason,
        IResourceBuilder<T> server, EndpointReference endpoint, IResourceBuilder<ParameterResource> password) where T : IResourceWithEndpoints
    {
        var connection = builder.AddConnectionString(ConnectionName,
            ReferenceExpression.Create($"{endpoint.Property(EndpointProperty.HostAndPort)},password={password}"));

        var healthCheck = $"{server.Resource.Name}-ping";
        var check = new RedisPingHealthCheck(connection.Resource);
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheck,
            _ => check, failureStatus: null, tags: null));
        server.WithHealthCheck(healthCheck);

        return new(engine, reason, connection, (IResourceBuilder<IResource>)server);
    }

    /// <summary>Where a local engine keeps its AOF: Redis:DataDirectory, by default AppHost/.data.</summary>
    static string DataDirectory(IDistributedApplicationBuilder builder, string name)
    {
        var root = builder.Configuration["Redis:DataDirectory"] is { Length: > 0 } configured
            ? Path.GetFullPath(configured, builder.AppHostDirectory)
            : Path.Combine(builder.AppHostDirectory, ".data");
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>True when `docker info` (or `podman info`) answers: the client alone is not enough.</summary>
    static bool ContainerRuntimeIsRunning()
    {
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME") ?? "docker";
        if (FindOnPath(runtime) is null)
        {
            return false;
        }
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null || !process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                process?.Kill(entireProcessTree: true);
                return false;
            }
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
