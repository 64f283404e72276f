using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Health;

/// <summary>
/// Thresholds that turn a service's health Degraded, with a reason, while they are crossed (section
/// <c>Alerts</c>). Health is what the dashboard, load balancers and on-call tooling already watch, so an
/// alert needs no separate alerting system; each transition is also logged as a warning.
/// </summary>
public sealed class AlertOptions
{
    public const string SectionName = "Alerts";

    /// <summary>The window the rates below are measured over (at most an hour).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Share of requests ending in a server error (HTTP 5xx; gRPC INTERNAL, UNKNOWN, UNAVAILABLE, DATA_LOSS) above which health is Degraded.</summary>
    public double ErrorRate { get; set; } = 0.05;

    /// <summary>Requests needed in the window before the error rate counts (a single failure of two is not an outage).</summary>
    public int ErrorRateMinRequests { get; set; } = 20;

    /// <summary>Redis PING round trip above which health is Degraded.</summary>
    public TimeSpan RedisLatency { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Decisions taken without a dependency (fail open, fail closed, local limits, cache bypass) in the window above which health is Degraded; 0: any.</summary>
    public int DegradedDecisions { get; set; }

    /// <summary>AudioQueue: jobs waiting above which health is Degraded; 0: 80 % of AudioQueue:MaxDepth.</summary>
    public int QueueDepth { get; set; }

    /// <summary>AudioQueue: how long the oldest waiting job may wait before health is Degraded.</summary>
    public TimeSpan OldestJobAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often health is evaluated in the background, to log transitions (at least one second).</summary>
    public TimeSpan EvaluationPeriod { get; set; } = TimeSpan.FromSeconds(5);
}

public sealed class AlertOptionsValidator : IValidateOptions<AlertOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertOptions o)
    {
        var errors = new List<string>();
        if (o.Window < TimeSpan.FromSeconds(1) || o.Window > TimeSpan.FromHours(1)) errors.Add("Alerts:Window must be 00:00:01 to 01:00:00");
        if (o.ErrorRate is <= 0 or >= 1) errors.Add("Alerts:ErrorRate must be above 0 and below 1");
        if (o.ErrorRateMinRequests < 1) errors.Add("Alerts:ErrorRateMinRequests must be at least 1");
        if (o.RedisLatency < TimeSpan.Zero) errors.Add("Alerts:RedisLatency must not be negative");
        if (o.DegradedDecisions < 0 || o.QueueDepth < 0) errors.Add("Alerts:DegradedDecisions and Alerts:QueueDepth must not be negative");
        if (o.OldestJobAge <= TimeSpan.Zero) errors.Add("Alerts:OldestJobAge must be positive");
        if (o.EvaluationPeriod < TimeSpan.FromSeconds(1)) errors.Add("Alerts:EvaluationPeriod must be at least 00:00:01");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
