using Microsoft.Extensions.Options;
using Platform.ServiceDefaults;
using StackExchange.Redis;

namespace Platform.AudioQueue;

public readonly record struct PriorityLoad(JobPriority Priority, long Depth, TimeSpan EstimatedWait);

public sealed record QueueSnapshot(
    long Depth, IReadOnlyList<PriorityLoad> Priorities, QueueLoad Load, long SucceededLastMinute, long FailedLastMinute,
    TimeSpan? ProcessingTimeP50, TimeSpan? ProcessingTimeP95, TimeSpan? OldestQueuedAge, bool Paused, long Delayed, long Dead)
{
    public double ThroughputPerSecond => (SucceededLastMinute + FailedLastMinute) / 60.0;
}

public enum RequeueOutcome { Requeued, NotFound, WrongState, AudioExpired }

/// <summary>Queue-wide numbers and the operator's controls.</summary>
public sealed class QueueAdmin(IConnectionMultiplexer redis, IOptionsMonitor<AudioQueueOptions> options, QueueClock clock, QueueEvents events)
{
    static readonly RedisScript RequeueScript = RedisScript.FromResource(typeof(QueueAdmin).Assembly, "requeue.lua");

    /// <summary>Reads every number in one round trip. They are not one atomic snapshot; each is current.</summary>
    public async Task<QueueSnapshot> GetStatsAsync()
    {
        var queue = options.CurrentValue;
        var now = clock.Now;
        var nowMs = now.ToUnixTimeMilliseconds();
        var batch = redis.GetDatabase().CreateBatch();
        var depth = batch.SortedSetLengthAsync(QueueKeys.Waiting);
        var delayed = batch.SortedSetLengthAsync(QueueKeys.Delayed);
        var processing = batch.SortedSetLengthAsync(QueueKeys.Processing);
        var dead = batch.SortedSetLengthAsync(QueueKeys.Dead);
        var byPriority = batch.HashGetAllAsync(QueueKeys.PriorityDepth);
        var state = batch.HashGetAllAsync(QueueKeys.State);
        var average = batch.HashGetAsync(QueueKeys.Stats, "average_ms");
        var succeeded = batch.SortedSetLengthAsync(QueueKeys.SucceededRecently, nowMs - 60_000);
        var failed = batch.SortedSetLengthAsync(QueueKeys.FailedRecently, nowMs - 60_000);
        var durations = batch.ListRangeAsync(QueueKeys.RecentDurations);
        var oldest = batch.SortedSetRangeByRankWithScoresAsync(QueueKeys.Waiting, 0, 0);
        // A new job of priority p would be scored now - (p - 1) aging steps: everything scored lower is ahead.
        var aheadOfNew = Enum.GetValues<JobPriority>().Reverse().Select(p => (Priority: p, Ahead: batch.SortedSetLengthAsync(
            QueueKeys.Ready, double.NegativeInfinity, JobStore.Micros(now - DateTimeOffset.UnixEpoch - queue.AgingStep * ((int)p - 1)),
            Exclude.Stop))).ToList();
        batch.Execute();

        var settings = (await state).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        var load = QueueLoad.From(await processing, settings.GetValueOrDefault("max_concurrency"), await average, queue);
        var depths = (await byPriority).ToDictionary(e => (int)e.Name, e => (long)e.Value);
        var priorities = new List<PriorityLoad>();
        foreach (var (priority, ahead) in aheadOfNew)
        {
            priorities.Add(new PriorityLoad(priority, depths.GetValueOrDefault((int)priority), WaitTimeEstimator.Estimate(await ahead, load)));
        }
        var sorted = (await durations).Select(d => (long)d).Order().ToArray();
        var oldestEntry = await oldest;
        return new QueueSnapshot(
            Depth: await depth,
            Priorities: priorities,
            Load: load,
            SucceededLastMinute: await succeeded,
            FailedLastMinute: await failed,
            ProcessingTimeP50: Percentile(sorted, 0.50),
            ProcessingTimeP95: Percentile(sorted, 0.95),
            OldestQueuedAge: oldestEntry.Length == 0 ? null : TimeSpan.FromMilliseconds(Math.Max(0, nowMs - oldestEntry[0].Score)),
            Paused: settings.GetValueOrDefault("paused") == "1",
            Delayed: await delayed,
            Dead: await dead);
    }

    /// <summary>Nearest-rank percentile of the recent processing times.</summary>
    static TimeSpan? Percentile(long[] sortedMs, double quantile) =>
        sortedMs.Length == 0 ? null : TimeSpan.FromMilliseconds(sortedMs[Math.Clamp((int)Math.Ceiling(quantile * sortedMs.Length) - 1, 0, sortedMs.Length - 1)]);

    public async Task SetPausedAsync(bool paused)
    {
        await redis.GetDatabase().HashSetAsync(QueueKeys.State, "paused", paused ? 1 : 0);
        await events.PublishAsync("");
    }

    public async Task SetConcurrencyAsync(int maxConcurrency)
    {
        await redis.GetDatabase().HashSetAsync(QueueKeys.State, "max_concurrency", maxConcurrency);
        await events.PublishAsync("");
    }

    /// <summary>DEAD jobs, most recent first, from <paramref name="offset"/>.</summary>
    public async Task<(IReadOnlyList<JobRecord> Jobs, bool More)> ListDeadLettersAsync(int offset, int pageSize)
    {
        var database = redis.GetDatabase();
        var ids = await database.SortedSetRangeByRankAsync(QueueKeys.Dead, offset, offset + pageSize, Order.Descending);
        var page = ids.Take(pageSize).ToArray();
        var jobs = await Task.WhenAll(page.Select(id => database.ExecuteAsync("HGETALL", QueueKeys.Job((string)id!))));
        return (jobs.Select(JobRecord.Parse).OfType<JobRecord>().ToList(), ids.Length > pageSize);
    }

    public async Task<RequeueOutcome> RequeueAsync(string id)
    {
        var reply = (RedisResult[])(await RequeueScript.EvaluateAsync(
            redis.GetDatabase(),
            [
                QueueKeys.State, QueueKeys.Job(id), QueueKeys.Ready, QueueKeys.Waiting, QueueKeys.TenantDepth,
                QueueKeys.PriorityDepth, QueueKeys.Dead, QueueKeys.Audio(id),
            ],
            [clock.ScriptArgument(), id, JobStore.Micros(options.CurrentValue.AgingStep)]))!;
        var outcome = (string)reply[0]! switch
        {
            "ok" => RequeueOutcome.Requeued,
            "no_audio" => RequeueOutcome.AudioExpired,
            _ when reply[1].IsNull => RequeueOutcome.NotFound,
            _ => RequeueOutcome.WrongState,
        };
        if (outcome == RequeueOutcome.Requeued)
        {
            await events.PublishAsync(id);
        }
        return outcome;
    }

    /// <summary>Requeues every job that is DEAD now; returns how many were.</summary>
    public async Task<int> RequeueAllDeadAsync()
    {
        var requeued = 0;
        foreach (var id in await redis.GetDatabase().SortedSetRangeByRankAsync(QueueKeys.Dead))
        {
            if (await RequeueAsync((string)id!) == RequeueOutcome.Requeued)
            {
                requeued++;
            }
        }
        return requeued;
    }
}
