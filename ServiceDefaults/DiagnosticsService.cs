using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Platform.Diagnostics.V1;

namespace Platform.ServiceDefaults;

/// <summary>platform.diagnostics.v1.Diagnostics: a no-op RPC (the baseline for every service's benchmarks) and scaling info.</summary>
public sealed class DiagnosticsService(ScalingInfoSource scaling) : Diagnostics.V1.Diagnostics.DiagnosticsBase
{
    static readonly Task<PingResponse> Pong = Task.FromResult(new PingResponse());

    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) => request.Asynchronous ? PongLaterAsync() : Pong;

    static async Task<PingResponse> PongLaterAsync()
    {
        await Task.Yield();
        return Pong.Result;
    }

    [Admission.NeverShed] // what operators look at during an overload
    public override Task<ScalingInfo> GetScalingInfo(GetScalingInfoRequest request, ServerCallContext context) =>
        Task.FromResult(scaling.Describe());
}

/// <summary>Concurrency settings a service runs with, by name (e.g. "audioqueue.worker.concurrency"), for <see cref="ScalingInfo"/>.</summary>
public sealed record ScalingSettings(Func<IEnumerable<KeyValuePair<string, string>>> Describe);

/// <summary>This replica's hardware and concurrency: the seed's hardware detection, shown to operators.</summary>
public sealed class ScalingInfoSource(IHostEnvironment environment, IEnumerable<ScalingSettings> settings, Admission.AdmissionControl admission)
{
    static readonly DateTime StartedAt = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public ScalingInfo Describe()
    {
        using var process = Process.GetCurrentProcess();
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        var info = new ScalingInfo
        {
            Service = environment.ApplicationName,
            ReplicaId = ReplicaId,
            Machine = Environment.MachineName,
            ProcessorCount = (uint)Environment.ProcessorCount,
            MemoryLimitBytes = (ulong)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            WorkingSetBytes = (ulong)process.WorkingSet64,
            ServerGc = GCSettings.IsServerGC,
            Uptime = Duration.FromTimeSpan(DateTime.UtcNow - StartedAt),
            Version = typeof(ScalingInfoSource).Assembly.GetName().Version?.ToString() ?? "",
            Concurrency = { ["threadpool.min_worker_threads"] = minWorkers.ToString(CultureInfo.InvariantCulture) },
            Runtime = new RuntimeStats
            {
                AllocatedBytes = (ulong)GC.GetTotalAllocatedBytes(precise: true),
                GcPause = Duration.FromTimeSpan(GC.GetTotalPauseDuration()),
                Gen0Collections = (uint)GC.CollectionCount(0),
                Gen1Collections = (uint)GC.CollectionCount(1),
                Gen2Collections = (uint)GC.CollectionCount(2),
                HeapBytes = (ulong)GC.GetGCMemoryInfo().HeapSizeBytes,
                PeakWorkingSetBytes = (ulong)process.PeakWorkingSet64,
            },
        };
        info.SaturationDelay = Duration.FromTimeSpan(admission.SaturationDelay);
        info.Admission.AddRange(admission.Gates.OrderBy(g => g.Name, StringComparer.Ordinal).Select(g => new AdmissionClass
        {
            Name = g.Name,
            Limit = (uint)g.Limit,
            Floor = (uint)g.Floor,
            Ceiling = (uint)g.Ceiling,
            InFlight = (uint)g.InFlight,
            Queued = (uint)g.Queued,
            Refused = (ulong)g.Shed,
        }));
        foreach (var (name, value) in settings.SelectMany(s => s.Describe()))
        {
            info.Concurrency[name] = value;
        }
        return info;
    }

    /// <summary>Aspire names each replica in OTEL_RESOURCE_ATTRIBUTES (service.instance.id); elsewhere, machine and process.</summary>
    public static string ReplicaId { get; } =
        (Environment.GetEnvironmentVariable("OTEL_RESOURCE_ATTRIBUTES") ?? "").Split(',')
            .Select(pair => pair.Split('=', 2))
            .Where(pair => pair is ["service.instance.id", { Length: > 0 }])
            .Select(pair => pair[1])
            .FirstOrDefault() ?? $"{Environment.MachineName}-{Environment.ProcessId}";
}
