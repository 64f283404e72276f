using Microsoft.Extensions.Options;

namespace Platform.Client;

/// <summary>Rejects settings that cannot work, naming the setting, when the first client is created.</summary>
sealed class PlatformClientOptionsValidator : IValidateOptions<PlatformClientOptions>
{
    public ValidateOptionsResult Validate(string? name, PlatformClientOptions options)
    {
        var failures = new List<string>();
        CheckDeadline(failures, "DefaultDeadline", options.DefaultDeadline);
        foreach (var (service, settings) in new[] { ("RateLimit", options.RateLimit), ("Cache", options.Cache), ("AudioQueue", options.AudioQueue) })
        {
            if (settings.Address is not { IsAbsoluteUri: true } address || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
            {
                failures.Add($"{service}:Address must be an absolute http:// or https:// URL (was '{settings.Address}')");
            }
            if (settings.DefaultDeadline is { } deadline)
            {
                CheckDeadline(failures, service + ":DefaultDeadline", deadline);
            }
            if (settings.MaxReceiveMessageSize is <= 0)
            {
                failures.Add($"{service}:MaxReceiveMessageSize must be positive (was {settings.MaxReceiveMessageSize})");
            }
        }
        if (options.ResourceExhaustedRetry.MaxAttempts < 1)
        {
            failures.Add($"ResourceExhaustedRetry:MaxAttempts must be at least 1 (was {options.ResourceExhaustedRetry.MaxAttempts})");
        }
        if (options.ResourceExhaustedRetry.MaxDelay < TimeSpan.Zero)
        {
            failures.Add($"ResourceExhaustedRetry:MaxDelay must not be negative (was {options.ResourceExhaustedRetry.MaxDelay})");
        }
        return failures.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(failures.Select(f => PlatformClientOptions.SectionName + ":" + f));
    }

    static void CheckDeadline(List<string> failures, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            failures.Add($"{setting} must be positive, or {Timeout.InfiniteTimeSpan} for none (was {value})");
        }
    }
}
