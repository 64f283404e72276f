using Microsoft.Extensions.Options;
using Platform.AudioQueue.Audio;
using Platform.ServiceDefaults;

namespace Platform.AudioQueue.Worker;

/// <summary>
/// The audio worker inside the AudioQueue service: leases jobs like any external worker (same store,
/// same leases), processes the audio, reports progress through Renew and completes or fails the job.
/// On shutdown it stops leasing, lets running jobs finish for ShutdownGrace, and gives back the rest.
/// </summary>
public sealed partial class BuiltInAudioWorker(
    LeaseStore leases, AudioProcessor processor, Transcriber transcriber, IOptions<AudioWorkerOptions> options, ILogger<BuiltInAudioWorker> logger)
    : BackgroundService
{
    static readonly TimeSpan PollWait = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            LogDisabled();
            return;
        }
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var concurrency = settings.Resolve(Environment.ProcessorCount, memory);
        LogStarted(concurrency, Environment.ProcessorCount, memory / (1024 * 1024));
        await Task.WhenAll(Enumerable.Range(1, concurrency).Select(slot => RunSlotAsync($"{Environment.MachineName}-{Environment.ProcessId}-{slot}", stoppingToken)));
    }

    async Task RunSlotAsync(string workerId, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var jobs = await leases.LeaseAsync(workerId, 1, options.Value.LeaseDuration, PollWait, stoppingToken);
                foreach (var job in jobs)
                {
                    await ProcessAsync(job, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (RedisFailures.IsUnavailable(e))
            {
                LogRedisUnavailable(e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            catch (Exception e)
            {
                // A bug must not stop the slot for good (nor, through the host, the service): log, go on.
                LogSlotError(e, workerId);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    async Task ProcessAsync(LeasedJob leased, CancellationToken stoppingToken)
    {
        var job = leased.Job;
        using var work = new CancellationTokenSource();
        // Shutdown: running jobs get ShutdownGrace to finish, then are given back.
        using var onStop = stoppingToken.Register(() => work.CancelAfter(options.Value.ShutdownGrace));
        var progress = new LatestProgress();
        var renewals = KeepLeaseAsync(leased, progress, work);
        try
        {
            // With transcription after it, processing fills the first 90 % of the progress.
            progress.Scale = transcriber.Enabled ? 0.9 : 1;
            var processed = await Task.Run(() => processor.Process(leased.Audio, job.ContentType, progress, work.Token), work.Token);
            var (transcript, transcriptError) = processed.Analysis.Segments.Count > 0 ? await TranscribeAsync(job.Id, processed.Wav, work.Token) : (null, null);
            await work.CancelAsync(); // stops the renewals
            await renewals;
            var outcome = await leases.CompleteAsync(job.Id, leased.Token, AudioJobResult.Serialize(processed.Analysis, transcript, transcriptError), processed.Wav, "audio/wav");
            LogFinished(job.Id, outcome.Held ? "succeeded" : "lost its lease before completing", outcome.ProcessingTime?.TotalMilliseconds ?? 0);
        }
        catch (UnprocessableAudioException e)
        {
            await work.CancelAsync();
            await renewals;
            await leases.FailAsync(job.Id, leased.Token, e.Message, retryable: false);
            LogUnprocessable(job.Id, e.Message);
        }
        catch (OperationCanceledException) when (work.IsCancellationRequested)
        {
            await renewals;
            if (progress.LeaseLost)
            {
                LogLeaseLost(job.Id);
            }
            else
            {
                await leases.ReleaseAsync(job.Id, leased.Token);
                LogGivenBack(job.Id);
            }
        }
        catch (Exception e) when (!RedisFailures.IsUnavailable(e))
        {
            await work.CancelAsync();
            await renewals;
            await leases.FailAsync(job.Id, leased.Token, $"{e.GetType().Name}: {e.Message}", retryable: true);
            LogRetryableFailure(e, job.Id);
        }
    }

    /// <summary>
    /// The optional stage: a provider that fails (down, misconfigured) costs the transcript, not the job,
    /// whose audio was processed; the result says why the transcript is missing.
    /// </summary>
    async Task<(string? Text, string? Error)> TranscribeAsync(string jobId, byte[] wav, CancellationToken cancellationToken)
    {
        try
        {
            return (await transcriber.TranscribeAsync(wav, cancellationToken), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogTranscriptionFailed(e, jobId);
            return (null, $"transcription failed: {e.Message}");
        }
    }

    /// <summary>Renews every third of the lease with the latest progress; cancels the work if the lease is lost.</summary>
    async Task KeepLeaseAsync(LeasedJob leased, LatestProgress progress, CancellationTokenSource work)
    {
        try
        {
            using var timer = new PeriodicTimer(options.Value.LeaseDuration / 3);
            while (await timer.WaitForNextTickAsync(work.Token))
            {
                var renewed = await leases.RenewAsync(leased.Job.Id, leased.Token, progress.Value);
                if (!renewed.Held)
                {
                    progress.LeaseLost = true;
                    await work.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The work ended.
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            // The next tick would fail too; the lease may expire and the job be redelivered (at least once).
            LogRenewFailed(leased.Job.Id, e.Message);
        }
    }

    sealed class LatestProgress : IProgress<double>
    {
        public double Value { get; private set; }
        public double Scale { get; set; } = 1;
        public bool LeaseLost { get; set; }
        public void Report(double value) => Value = value * Scale;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Built-in audio worker off (AudioQueue:Worker:Enabled=false); jobs wait for external workers")]
    partial void LogDisabled();

    [LoggerMessage(Level = LogLevel.Information, Message = "Built-in audio worker: {Concurrency} jobs at once ({Cores} cores, {MemoryMiB} MiB available)")]
    partial void LogStarted(int concurrency, int cores, long memoryMiB);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} {Outcome} ({ElapsedMs} ms)")]
    partial void LogFinished(string jobId, string outcome, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed for good: {Reason}")]
    partial void LogUnprocessable(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed; it will be retried")]
    partial void LogRetryableFailure(Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: transcription failed; the result has no transcript")]
    partial void LogTranscriptionFailed(Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: lease lost (expired or cancelled); work dropped")]
    partial void LogLeaseLost(string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} given back to the queue on shutdown")]
    partial void LogGivenBack(string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: lease renewal failed ({Reason})")]
    partial void LogRenewFailed(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Built-in audio worker {WorkerId}: unexpected error; continuing")]
    partial void LogSlotError(Exception exception, string workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Built-in audio worker waiting for Redis ({Reason})")]
    partial void LogRedisUnavailable(string reason);
}
