using Microsoft.Extensions.Options;
using Platform.Diagnostics.V1;
using Platform.RateLimit.V1;
using Platform.ServiceDefaults;

namespace Platform.RateLimit;

/// <summary>Start-up warm-up: Check and CheckMany of a configured policy, on the warm-up team's own keys.</summary>
sealed class RateLimitWarmUp(IOptionsMonitor<RateLimitOptions> options) : IWarmUpCall
{
    public async Task RunAsync(WarmUpTarget target, long iteration, CancellationToken cancellationToken)
    {
        if (target.Grpc is null)
        {
            return;
        }
        await new Diagnostics.V1.Diagnostics.DiagnosticsClient(target.Grpc).PingAsync(new PingRequest(), cancellationToken: cancellationToken);
        var policy = options.CurrentValue.Policies.Where(p => p.Value.Algorithm != RateLimitAlgorithm.Concurrency).Select(p => p.Key).Order(StringComparer.Ordinal).FirstOrDefault();
        if (policy is null)
        {
            return;
        }
        var limiter = new RateLimiter.RateLimiterClient(target.Grpc);
        var key = "warm-up-" + iteration % 64;
        await limiter.CheckAsync(new CheckRequest { Policy = policy, Key = key }, cancellationToken: cancellationToken);
        await limiter.CheckManyAsync(new CheckManyRequest
        {
            AllOrNothing = iteration % 2 == 0,
            Checks = { new CheckRequest { Policy = policy, Key = key }, new CheckRequest { Policy = policy, Key = key, Cost = 0 } },
        }, cancellationToken: cancellationToken);
    }
}
