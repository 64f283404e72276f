using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Platform.Client;

namespace Platform.Tests.Client;

/// <summary>A DI container with the Platform clients, as an application that references Platform.Client builds it.</summary>
public static class ClientContainer
{
    /// <param name="configuration">Configuration keys (Platform:Clients:*, services:*:http:0 for service discovery).</param>
    /// <param name="configure">The AddPlatformClients callback.</param>
    /// <param name="time">Registered as the application's TimeProvider.</param>
    /// <param name="calls">Counts every HTTP request the clients send (each attempt of a call).</param>
    /// <param name="application">The application's own registrations, made before AddPlatformClients.</param>
    public static ServiceProvider Build(
        IDictionary<string, string?> configuration, Action<PlatformClientOptions>? configure = null, TimeProvider? time = null,
        OutgoingCalls? calls = null, Action<IServiceCollection>? application = null)
    {
        var services = new ServiceCollection();
        // The key every test service accepts, unless the test says otherwise.
        configuration = new Dictionary<string, string?>(configuration);
        configuration.TryAdd("Platform:Clients:ApiKey", Support.TestCredentials.Tests.Key);
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        services.AddLogging();
        application?.Invoke(services);
        if (time is not null)
        {
            services.AddSingleton(time);
        }
        services.AddPlatformClients(configure);
        if (calls is not null)
        {
            services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler(() => new OutgoingCalls.Handler(calls)));
        }
        return services.BuildServiceProvider();
    }
}

/// <summary>HTTP requests sent by the clients, by gRPC method path: one per attempt.</summary>
public sealed class OutgoingCalls
{
    readonly ConcurrentDictionary<string, int> counts = new();

    public int To(string path) => counts.GetValueOrDefault(path);

    internal sealed class Handler(OutgoingCalls calls) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            calls.counts.AddOrUpdate(request.RequestUri!.AbsolutePath, 1, (_, n) => n + 1);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>Records, inside a real service, the metadata each gRPC call arrived with.</summary>
public sealed class ReceivedCalls : IStartupFilter
{
    readonly ConcurrentQueue<ReceivedCall> calls = new();

    public IReadOnlyList<ReceivedCall> To(string path) => calls.Where(c => c.Path == path).ToList();

    public static Action<IServiceCollection> RecordInto(ReceivedCalls received) => services => services.AddSingleton<IStartupFilter>(received);

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            var headers = context.Request.Headers;
            calls.Enqueue(new ReceivedCall(context.Request.Path, headers.Authorization.FirstOrDefault(), Platform.ServiceDefaults.Admission.GrpcDeadline.Remaining(context.Request)));
            return nextMiddleware(context);
        });
        next(app);
    };

}

public sealed record ReceivedCall(string Path, string? Authorization, TimeSpan? Timeout);

/// <summary>A fake clock that also remembers every timer created on it (a delay is a one-shot timer).</summary>
public sealed class RecordingTimeProvider() : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    readonly ConcurrentQueue<TimeSpan> dueTimes = new();

    public IReadOnlyList<TimeSpan> TimersDue => [.. dueTimes];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        dueTimes.Enqueue(dueTime);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
