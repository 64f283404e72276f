using System.Diagnostics.Metrics;
using Platform.ServiceDefaults;

namespace Platform.AudioQueue;

/// <summary>platform.audioqueue.* metrics: counts from this replica, gauges from the shared queue.</summary>
public sealed class QueueMetrics
{
    public const string MeterName = PlatformTelemetry.MeterPrefix + "audioqueue";

    readonly Counter<long> enqueued, rejected, leased, finished, redelivered;
    readonly Histogram<double> wait, processing;
    QueueSnapshot? last;

    public QueueMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        enqueued = meter.CreateCounter<long>("platform.audioqueue.enqueued", "{job}", "Jobs accepted by Enqueue (duplicates excluded).");
        rejected = meter.CreateCounter<long>("platform.audioqueue.rejected", "{job}", "Enqueues refused because the queue (reason=queue_full) or a tenant's share (reason=tenant_full) was full.");
        leased = meter.CreateCounter<long>("platform.audioqueue.leased", "{job}", "Jobs handed to workers.");
        finished = meter.CreateCounter<long>("platform.audioqueue.finished", "{attempt}", "Attempts ended, by the job's state after (succeeded, failed, dead, queued = retry).");
        redelivered = meter.CreateCounter<long>("platform.audioqueue.lease_expired", "{job}", "Leases that ran out: the job was queued again (outcome=requeued) or went dead (outcome=dead).");
        wait = meter.CreateHistogram<double>("platform.audioqueue.wait_time", "s", "Time from enqueue to lease (a retried job counts from its first enqueue).");
        processing = meter.CreateHistogram<double>("platform.audioqueue.processing_time", "s", "Time from lease to completion of jobs that succeeded.");
        meter.CreateObservableGauge("platform.audioqueue.depth", () => last?.Depth ?? 0, "{job}", "Jobs waiting (as of the last stats sweep, every few seconds).");
        meter.CreateObservableGauge("platform.audioqueue.processing", () => last?.Load.Processing ?? 0, "{job}", "Jobs leased by workers now.");
        meter.CreateObservableGauge("platform.audioqueue.dead", () => last?.Dead ?? 0, "{job}", "Jobs in the dead-letter set.");
        meter.CreateObservableGauge("platform.audioqueue.oldest_wait", () => last?.OldestQueuedAge?.TotalSeconds ?? 0, "s", "How long the oldest waiting job has waited.");
        meter.CreateObservableGauge("platform.audioqueue.max_concurrency", () => last?.Load.MaxConcurrency ?? 0, "{job}", "The global limit of jobs processing at once.");
    }

    public void Enqueued(EnqueueResult result)
    {
        switch (result.Outcome)
        {
            case EnqueueOutcome.Queued:
                enqueued.Add(1);
                break;
            case EnqueueOutcome.QueueFull or EnqueueOutcome.TenantFull:
                rejected.Add(1, new KeyValuePair<string, object?>("reason", result.Outcome == EnqueueOutcome.QueueFull ? "queue_full" : "tenant_full"));
                break;
        }
    }

    public void Leased(JobRecord job)
    {
        leased.Add(1);
        if (job.StartedAt is { } started)
        {
            wait.Record(Math.Max(0, (started - job.CreatedAt).TotalSeconds));
        }
    }

    public void Finished(JobStatus state, TimeSpan? processingTime)
    {
        finished.Add(1, new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant()));
        if (processingTime is { } time)
        {
            processing.Record(time.TotalSeconds);
        }
    }

    public void Housekept(HousekeepingResult result)
    {
        if (result.ReturnedToQueue > 0)
        {
            redelivered.Add(result.ReturnedToQueue, new KeyValuePair<string, object?>("outcome", "requeued"));
        }
        if (result.Dead > 0)
        {
            redelivered.Add(result.Dead, new KeyValuePair<string, object?>("outcome", "dead"));
        }
    }

    public void Observed(QueueSnapshot snapshot) => last = snapshot;

    /// <summary>The queue as of the last stats sweep (housekeeping, every few seconds); null before the first.</summary>
    public QueueSnapshot? Last => last;
}
