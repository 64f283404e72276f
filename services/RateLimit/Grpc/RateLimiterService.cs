using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.RateLimit.V1;
using Platform.ServiceDefaults;

namespace Platform.RateLimit.Grpc;

public sealed class RateLimiterService(FixedWindowLimiter limiter, IOptionsMonitor<RateLimitOptions> options)
    : RateLimiter.RateLimiterBase
{
    public const int MaxKeyBytes = 512;

    public override async Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        new RequestValidator()
            .CheckName(request.Policy, "policy")
            .CheckRequiredBytes(request.Key, "key", MaxKeyBytes)
            .ThrowIfInvalid();

        if (!options.CurrentValue.Policies.TryGetValue(request.Policy, out var policy))
        {
            GrpcErrors.ThrowNotFound($"Rate-limit policy '{request.Policy}' is not configured.", "policy", request.Policy);
        }
        if (policy.Problem() is { } problem)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Policy '{request.Policy}' is misconfigured: {problem}."));
        }

        var cost = request.HasCost ? request.Cost : 1;
        new RequestValidator()
            .Check(cost <= policy.Limit, "cost", $"must not exceed the policy's limit ({policy.Limit})")
            .ThrowIfInvalid();

        var decision = await limiter.CheckAsync(request.Policy, policy, request.Key, cost);
        return new CheckResponse
        {
            Allowed = decision.Allowed,
            Limit = decision.Limit,
            Remaining = decision.Remaining,
            ResetAfter = Duration.FromTimeSpan(decision.ResetAfter),
            RetryAfter = Duration.FromTimeSpan(decision.RetryAfter),
            Policy = request.Policy,
        };
    }
}
