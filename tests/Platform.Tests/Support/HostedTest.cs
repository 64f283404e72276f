namespace Platform.Tests.Support;

/// <summary>Base for tests that start services: every host a test starts is stopped when it ends.</summary>
public abstract class HostedTest : IDisposable
{
    readonly List<IDisposable> started = [];

    protected ServiceHost<TEntryPoint> Start<TEntryPoint>(RedisFixture redis, params (string Key, string? Value)[] settings)
        where TEntryPoint : class
    {
        redis.RequireAvailable();
        return Track(ServiceHost.Start<TEntryPoint>(redis, settings));
    }

    /// <summary>Starts a service with some of its registrations replaced (e.g. a fake clock).</summary>
    protected ServiceHost<TEntryPoint> Start<TEntryPoint>(
        RedisFixture redis, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection> replaceServices, params (string Key, string? Value)[] settings)
        where TEntryPoint : class
    {
        redis.RequireAvailable();
        return Track(ServiceHost.Start<TEntryPoint>(redis.Endpoint!, replaceServices, settings));
    }

    protected T Track<T>(T disposable) where T : IDisposable
    {
        started.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        foreach (var host in Enumerable.Reverse(started))
        {
            host.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}
