using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Auth;

namespace Platform.AudioQueue;

/// <summary>Configuration section <c>AudioQueue</c>.</summary>
public sealed class AudioQueueOptions
{
    public const string SectionName = "AudioQueue";

    /// <summary>Largest audio accepted by Enqueue, and largest output accepted by Complete (default 10 MiB).</summary>
    public int MaxAudioBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Jobs processing at once across all workers until an operator calls SetConcurrency.</summary>
    public int MaxConcurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>Processing time assumed for wait estimates until jobs have been measured.</summary>
    public TimeSpan TypicalJobDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an idempotency key maps to its first job.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Waiting this long raises a job's effective priority by one level (starvation guard).</summary>
    public TimeSpan AgingStep { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Jobs waiting (ready or in retry backoff) beyond which Enqueue answers RESOURCE_EXHAUSTED.</summary>
    public int MaxDepth { get; set; } = 10_000;

    /// <summary>Jobs one tenant may have waiting; 0 means no limit beyond MaxDepth.</summary>
    public int MaxDepthPerTenant { get; set; }

    /// <summary>Jobs of one tenant processing at once; 0 means no limit beyond the global one.</summary>
    public int MaxProcessingPerTenant { get; set; }

    /// <summary>
    /// Fair-share weights (default 1): a tenant of weight 2 gets twice the turns. Keyed by "team/tenant"
    /// for one tenant, or by "team" for each of a team's tenants.
    /// </summary>
    public Dictionary<string, double> TenantWeights { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Attempts (leases) a job gets before a retryable failure or expired lease makes it DEAD.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Backoff before the first retry; doubles per attempt, with jitter, up to RetryMaxDelay.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long SUCCEEDED, FAILED and CANCELLED jobs (and their input audio) stay readable.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a job's processed audio stays available through GetOutput.</summary>
    public TimeSpan OutputRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Ready jobs a lease looks at to get past tenants at their processing limit.</summary>
    public int LeaseScanDepth { get; set; } = 256;

    /// <param name="tenant">A stored ("team/tenant") tenant.</param>
    public double WeightOf(string tenant) =>
        TenantWeights.TryGetValue(tenant, out var weight) || TenantWeights.TryGetValue(Caller.Unscope(tenant).Team, out weight) ? weight : 1;
}

/// <summary>Refuses to start with settings that would stall or corrupt the queue, naming each one.</summary>
public sealed class AudioQueueOptionsValidator : IValidateOptions<AudioQueueOptions>
{
    public ValidateOptionsResult Validate(string? name, AudioQueueOptions o)
    {
        var second = TimeSpan.FromSeconds(1);
        var problems = new List<string>();
        void Require(bool valid, string problem)
        {
            if (!valid)
            {
                problems.Add("AudioQueue:" + problem);
            }
        }
        Require(o.MaxAudioBytes > 0, "MaxAudioBytes must be positive");
        Require(o.MaxConcurrency >= 1, "MaxConcurrency must be at least 1");
        Require(o.TypicalJobDuration > TimeSpan.Zero, "TypicalJobDuration must be positive");
        Require(o.IdempotencyWindow >= second, "IdempotencyWindow must be at least 00:00:01");
        Require(o.AgingStep >= TimeSpan.Zero, "AgingStep must not be negative");
        Require(o.MaxDepth >= 1, "MaxDepth must be at least 1");
        Require(o.MaxDepthPerTenant >= 0, "MaxDepthPerTenant must be 0 (no limit) or more");
        Require(o.MaxProcessingPerTenant >= 0, "MaxProcessingPerTenant must be 0 (no limit) or more");
        Require(o.TenantWeights.Values.All(w => w > 0), "TenantWeights must be positive");
        Require(o.MaxAttempts >= 1, "MaxAttempts must be at least 1");
        Require(o.RetryBaseDelay > TimeSpan.Zero && o.RetryMaxDelay >= o.RetryBaseDelay, "RetryBaseDelay must be positive and RetryMaxDelay at least as long");
        Require(o.Retention >= second && o.OutputRetention >= second, "Retention and OutputRetention must be at least 00:00:01");
        Require(o.LeaseScanDepth >= 1, "LeaseScanDepth must be at least 1");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
