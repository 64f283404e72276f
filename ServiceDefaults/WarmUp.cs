using System.Runtime;
using System.Security.Cryptography;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.ServiceDefaults;

/// <summary>
/// One pass through a service's hot paths, sent to the service itself through its own endpoints (Kestrel,
/// middleware, gRPC, Redis), as a real caller would. <see cref="WarmUp"/> repeats it until the JIT settles.
/// </summary>
public interface IWarmUpCall
{
    Task RunAsync(WarmUpTarget target, long iteration, CancellationToken cancellationToken);
}

/// <summary>This process's own endpoints, each sending the in-process warm-up key (see <see cref="WarmUpCredential"/>).</summary>
public sealed record WarmUpTarget(GrpcChannel? Grpc, HttpClient? Http, string Key);

/// <summary>
/// The key warm-up calls present. Random per process and never written anywhere, so nothing outside the
/// process can use it; it acts as team <see cref="Team"/>, which no configured team can be named ('~').
/// </summary>
public sealed class WarmUpCredential
{
    public const string Team = "~warm-up";

    public string Key { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}

/// <summary>
/// Ready means fast: after start-up the service calls its own hot paths (<see cref="IWarmUpCall"/>) until the
/// JIT has compiled them (few new methods per round) or WarmUp:MaxDuration passes, and reports Unhealthy
/// ("warming up") on /health until then, so a readiness probe or WaitFor sends traffic only to a replica that
/// serves at speed, its Redis and peer connections open. Setting WarmUp:Enabled (default: on outside
/// Development).
/// </summary>
public sealed partial class WarmUp(
    IServer server, IHostApplicationLifetime lifetime, IEnumerable<IWarmUpCall> calls, WarmUpCredential credential,
    IConfiguration configuration, IHostEnvironment environment, TimeProvider time, ILogger<WarmUp> logger) : BackgroundService, IHealthCheck
{
    const int Concurrency = 32, QuietMethods = 20;
    static readonly TimeSpan Round = TimeSpan.FromMilliseconds(250), MinDuration = TimeSpan.FromSeconds(2);
    volatile bool ready;

    bool Enabled => configuration.GetValue("WarmUp:Enabled", !environment.IsDevelopment());

    TimeSpan MaxDuration => configuration.GetValue("WarmUp:MaxDuration", TimeSpan.FromSeconds(20));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(ready || !Enabled ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("warming up: compiling the hot paths before taking traffic"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled || !calls.Any())
        {
            ready = true;
            return;
        }
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(started.SetResult))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        try
        {
            await WarmAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            LogFailed(e.GetType().Name, e.Message); // a failed warm-up must not keep the replica out of service
        }
        ready = true;
    }

    async Task WarmAsync(CancellationToken stoppingToken)
    {
        var begun = time.GetTimestamp();
        var methodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        long iteration = 0, failures = 0;
        using var target = await TargetAsync(stoppingToken);
        // Rounds of calls until a whole round compiles (almost) nothing: hot methods go through several tiers
        // (quick JIT, instrumented, optimized), each after enough calls, so a short pass is not enough.
        while (!stoppingToken.IsCancellationRequested && time.GetElapsedTime(begun) < MaxDuration)
        {
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            var roundEnds = time.GetTimestamp() + (long)(Round.TotalSeconds * time.TimestampFrequency);
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
            {
                while (time.GetTimestamp() < roundEnds && !stoppingToken.IsCancellationRequested)
                {
                    foreach (var call in calls)
                    {
                        try
                        {
                            await call.RunAsync(target.Target, Interlocked.Increment(ref iteration), stoppingToken);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            Interlocked.Increment(ref failures); // a dependency may be down; warm-up must not stop the service
                        }
                    }
                }
            }, stoppingToken)));
            if (System.Runtime.JitInfo.GetCompiledMethodCount() - compiled <= QuietMethods && time.GetElapsedTime(begun) > MinDuration)
            {
                break;
            }
        }
        LogWarm(time.GetElapsedTime(begun).TotalSeconds, iteration, failures, System.Runtime.JitInfo.GetCompiledMethodCount() - methodsBefore);
    }

    /// <summary>A gRPC channel to this process's HTTP/2 endpoint and an HTTP client to its HTTP/1.1 one (each found by asking).</summary>
    async Task<OwnedTarget> TargetAsync(CancellationToken cancellationToken)
    {
        GrpcChannel? grpc = null;
        HttpClient? http = null;
        foreach (var address in server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
        {
            var uri = new Uri(address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://[::]", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1"));
            var client = new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(10) };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", credential.Key);
            try
            {
                using var alive = await client.GetAsync("/alive", cancellationToken);
                if (alive.IsSuccessStatusCode)
                {
                    http ??= client; // answers HTTP/1.1
                }
                else
                {
                    grpc ??= PlatformChannel.ForAddress(uri, credential.Key); // HTTP/2 only (Kestrel answers HTTP/1.1 with an error): gRPC
                }
            }
            catch (HttpRequestException)
            {
                grpc ??= PlatformChannel.ForAddress(uri, credential.Key);
            }
            if (http != client)
            {
                client.Dispose();
            }
        }
        return new OwnedTarget(new WarmUpTarget(grpc, http, credential.Key));
    }

    sealed record OwnedTarget(WarmUpTarget Target) : IDisposable
    {
        public void Dispose()
        {
            Target.Grpc?.Dispose();
            Target.Http?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up failed ({Error}: {Detail}); ready without it")]
    partial void LogFailed(string error, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm-up done in {Seconds:0.0} s: {Calls} calls ({Failures} failed), {Methods} methods compiled; ready")]
    partial void LogWarm(double seconds, long calls, long failures, long methods);
}

public static class WarmUpExtensions
{
    /// <summary>Adds a pass through this service's hot paths to its start-up warm-up (see <see cref="WarmUp"/>).</summary>
    public static IServiceCollection AddWarmUpCall<TCall>(this IServiceCollection services) where TCall : class, IWarmUpCall =>
        services.AddSingleton<IWarmUpCall, TCall>();
}
