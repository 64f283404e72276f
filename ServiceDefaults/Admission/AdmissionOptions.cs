using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Admission;

/// <summary>
/// How much work each route class may have in flight (section <c>Admission</c>). Excess is refused at once
/// with a retry hint (HTTP 503 + Retry-After, gRPC RESOURCE_EXHAUSTED + RetryInfo) instead of queueing inside
/// the process until it is useless. Each class's limit adapts between its floor and ceiling: it shrinks while
/// the process is saturated (its thread pool falls behind by more than <see cref="SaturationDelay"/>) and
/// grows back while it keeps up. Probes, admin RPCs and work that frees capacity are never refused.
/// </summary>
public sealed class AdmissionOptions
{
    public const string SectionName = "Admission";

    /// <summary>Off: every request is admitted (to measure raw capacity).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Route classes by name (endpoints name theirs with <see cref="AdmissionClassAttribute"/>; "default" otherwise).</summary>
    public Dictionary<string, AdmissionClassOptions> Classes { get; set; } = [];

    /// <summary>How far behind the thread pool may fall (a work item's wait to start) before the process counts as saturated.</summary>
    public TimeSpan SaturationDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The share of the last second in GC pauses above which the process counts as saturated (each pause stalls every request).</summary>
    public double MaxGcPauseShare { get; set; } = 0.2;

    /// <summary>How often saturation is measured and limits adjusted.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The retry hint of a refusal (RetryInfo gets ±50 % jitter, so refused callers do not return together).</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Writes a refusal; by default <see cref="AdmissionMiddleware.WriteRefusalAsync"/> (ChatApi answers HTTP callers in OpenAI's shape).</summary>
    public Func<AdmissionRefusal, Task>? OnRejected { get; set; }

    public AdmissionClassOptions For(string className) => Classes.TryGetValue(className, out var options) ? options : Default;

    static readonly AdmissionClassOptions Default = new();
}

public sealed class AdmissionClassOptions
{
    /// <summary>The most requests in flight at once (the adaptive limit's ceiling); 0: <see cref="MaxConcurrencyPerCore"/> × cores.</summary>
    public int MaxConcurrency { get; set; }

    public int MaxConcurrencyPerCore { get; set; } = 256;

    /// <summary>The adaptive limit's floor; 0: 16 × cores (low enough to relieve a saturated process, high enough for a burst).</summary>
    public int MinConcurrency { get; set; }

    /// <summary>Requests that may wait for a slot when all are taken; more are refused at once. -1: a quarter of the ceiling.</summary>
    public int QueueLimit { get; set; } = -1;

    /// <summary>The longest wait for a slot, never past the caller's own deadline. Under a standing queue, a tenth of it.</summary>
    public TimeSpan QueueWait { get; set; } = TimeSpan.FromMilliseconds(50);

    public int Ceiling(int cores) => MaxConcurrency > 0 ? MaxConcurrency : MaxConcurrencyPerCore * cores;

    public int Floor(int cores) => Math.Min(Ceiling(cores), MinConcurrency > 0 ? MinConcurrency : 16 * cores);

    public int Queue(int cores) => QueueLimit >= 0 ? QueueLimit : Ceiling(cores) / 4;
}

public sealed class AdmissionOptionsValidator : IValidateOptions<AdmissionOptions>
{
    public ValidateOptionsResult Validate(string? name, AdmissionOptions options)
    {
        var errors = new List<string>();
        if (options.SaturationDelay <= TimeSpan.Zero) errors.Add("Admission:SaturationDelay must be positive");
        if (options.MaxGcPauseShare is <= 0 or > 1) errors.Add("Admission:MaxGcPauseShare must be above 0 and at most 1");
        if (options.ProbeInterval < TimeSpan.FromMilliseconds(10)) errors.Add("Admission:ProbeInterval must be at least 00:00:00.010");
        if (options.RetryAfter < TimeSpan.FromMilliseconds(100)) errors.Add("Admission:RetryAfter must be at least 00:00:00.100");
        foreach (var (className, c) in options.Classes)
        {
            if (c.MaxConcurrency < 0 || c.MaxConcurrencyPerCore < 1 || c.MinConcurrency < 0)
                errors.Add($"Admission:Classes:{className}: MaxConcurrency and MinConcurrency must not be negative, MaxConcurrencyPerCore at least 1");
            if (c.QueueLimit < -1) errors.Add($"Admission:Classes:{className}:QueueLimit must be -1 (automatic) or more");
            if (c.QueueWait < TimeSpan.Zero) errors.Add($"Admission:Classes:{className}:QueueWait must not be negative");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
