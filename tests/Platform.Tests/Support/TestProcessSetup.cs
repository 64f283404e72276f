using System.Runtime.CompilerServices;

namespace Platform.Tests.Support;

static class TestProcessSetup
{
    /// <summary>
    /// Services, their clients and an in-process Garnet share this process's thread pool. Bursts of
    /// hundreds of concurrent calls would otherwise wait for the pool's slow thread injection.
    /// </summary>
    [ModuleInitializer]
    internal static void Initialize() => ThreadPool.SetMinThreads(64, 64);
}
