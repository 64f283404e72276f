using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Health;

namespace Platform.ServiceDefaults.Admission;

/// <summary>
/// The gates of this process, one per route class, which endpoint goes through which (or none), how
/// saturated the process is, and the platform.&lt;service&gt;.admission.* metrics.
/// </summary>
public sealed class AdmissionControl
{
    readonly ConcurrentDictionary<string, AdmissionGate> gates = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<Endpoint, AdmissionGate?> byEndpoint = new();
    readonly IOptionsMonitor<AdmissionOptions> options;
    readonly TimeProvider time;
    readonly int cores = Environment.ProcessorCount;
    readonly Counter<long> shedCounter;
    readonly Histogram<double> queueTime;
    long saturationDelayTicks;
    readonly Func<Endpoint, AdmissionGate?> gateOf; // one delegate, not one per call

    public AdmissionControl(IOptionsMonitor<AdmissionOptions> options, TimeProvider time, IMeterFactory meters, IHostEnvironment environment,
        IOptionsMonitor<AlertOptions> alerts)
    {
        this.options = options;
        this.time = time;
        Refusals = new RollingCounter(time, () => alerts.CurrentValue.Window);
        gateOf = GateOf;
        options.OnChange(settings =>
        {
            foreach (var gate in gates.Values)
            {
                Configure(gate, settings);
            }
        });

        var meterName = PlatformTelemetry.ServiceMeterName(environment.ApplicationName);
        var meter = meters.Create(meterName);
        shedCounter = meter.CreateCounter<long>(meterName + ".admission.shed", "{request}",
            "Requests refused at the door (HTTP 503 / RESOURCE_EXHAUSTED with a retry hint) because their class was at its limit, by class.");
        queueTime = meter.CreateHistogram<double>(meterName + ".admission.queue_time", "s",
            "How long admitted requests waited for a slot (only those that waited), by class.");
        meter.CreateObservableGauge(meterName + ".admission.in_flight", () => gates.Values.Select(g => new Measurement<int>(g.InFlight, Tag(g))),
            "{request}", "Requests of each class in flight.");
        meter.CreateObservableGauge(meterName + ".admission.limit", () => gates.Values.Select(g => new Measurement<int>(g.Limit, Tag(g))),
            "{request}", "Each class's concurrency limit now (it shrinks while the process is saturated).");
        meter.CreateObservableGauge(meterName + ".admission.saturation_delay", () => SaturationDelay.TotalSeconds,
            "s", "How long a work item waited for a thread-pool thread at the last probe: above Admission:SaturationDelay the process is saturated.");
    }

    /// <summary>Refusals over the alert window, for health.</summary>
    public RollingCounter Refusals { get; }

    public TimeSpan SaturationDelay => TimeSpan.FromTicks(Interlocked.Read(ref saturationDelayTicks));

    public IReadOnlyCollection<AdmissionGate> Gates => (IReadOnlyCollection<AdmissionGate>)gates.Values;

    public AdmissionGate Gate(string className) => gates.GetOrAdd(className, name => Configure(new AdmissionGate(name, time), options.CurrentValue));

    /// <summary>
    /// The gate a request goes through; null when it is never refused: admission off, health probes, admin
    /// RPCs, <see cref="NeverShedAttribute"/> work, and gRPC streams without a class of their own (long-lived
    /// watches; their limits are their own).
    /// </summary>
    public AdmissionGate? GateFor(HttpContext http)
    {
        if (!options.CurrentValue.Enabled || Microsoft.Extensions.Hosting.Extensions.IsProbe(http.Request.Path))
        {
            return null;
        }
        return http.GetEndpoint() is { } endpoint ? byEndpoint.GetOrAdd(endpoint, gateOf) : null;
    }

    AdmissionGate? GateOf(Endpoint endpoint)
    {
        var metadata = endpoint.Metadata;
        var named = metadata.GetMetadata<AdmissionClassAttribute>();
        if (metadata.GetMetadata<NeverShedAttribute>() is not null || metadata.GetMetadata<AdminRpcAttribute>() is not null
            || (named is null && metadata.GetMetadata<GrpcMethodMetadata>() is { Method.Type: not global::Grpc.Core.MethodType.Unary }))
        {
            return null;
        }
        return Gate(named?.Name ?? AdmissionClassAttribute.Default);
    }

    public void Queued(AdmissionGate gate, TimeSpan waited) => queueTime.Record(waited.TotalSeconds, Tag(gate));

    public void Refused(AdmissionGate gate)
    {
        gate.Refused();
        Refusals.Add();
        shedCounter.Add(1, Tag(gate));
    }

    /// <summary>One saturation probe's result: every gate adapts its limit.</summary>
    /// <param name="gcPauseShare">The share of the last second the garbage collector had the process paused.</param>
    public void Observe(TimeSpan schedulingDelay, double gcPauseShare = 0)
    {
        Interlocked.Exchange(ref saturationDelayTicks, schedulingDelay.Ticks);
        var settings = options.CurrentValue;
        var saturated = schedulingDelay > settings.SaturationDelay || gcPauseShare > settings.MaxGcPauseShare;
        foreach (var gate in gates.Values)
        {
            gate.Adapt(saturated);
        }
    }

    AdmissionGate Configure(AdmissionGate gate, AdmissionOptions settings)
    {
        var c = settings.For(gate.Name);
        gate.Configure(c.Floor(cores), c.Ceiling(cores), c.Queue(cores), c.QueueWait);
        return gate;
    }

    static KeyValuePair<string, object?> Tag(AdmissionGate gate) => new("class", gate.Name);
}

/// <summary>
/// Measures saturation the way it hurts callers: how long a work item queued on the thread pool waits for a
/// thread (CPU or thread-pool starvation), and the share of the last second spent in GC pauses, which
/// stalls every request in flight at once (what a surge of in-flight requests, each holding memory, causes).
/// </summary>
public sealed class SaturationProbe(AdmissionControl admission, IOptionsMonitor<AdmissionOptions> options, TimeProvider time) : BackgroundService
{
    readonly Queue<(long At, TimeSpan Pause)> pauses = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(options.CurrentValue.ProbeInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var queued = time.GetTimestamp();
            var ran = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Ran.TrySetResult(state.Time.GetElapsedTime(state.Queued)), (Ran: ran, Time: time, Queued: queued), preferLocal: false);
            var delay = await ran.Task;
            pauses.Enqueue((time.GetTimestamp(), GC.GetTotalPauseDuration()));
            while (pauses.Count > 2 && time.GetElapsedTime(pauses.Peek().At) > TimeSpan.FromSeconds(1))
            {
                pauses.Dequeue();
            }
            var (oldestAt, oldestPause) = pauses.Peek();
            var window = time.GetElapsedTime(oldestAt);
            admission.Observe(delay, window > TimeSpan.Zero ? (GC.GetTotalPauseDuration() - oldestPause) / window : 0);
        }
    }
}
