using Envoy.Service.RateLimit.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;
using Code = Envoy.Service.RateLimit.V3.RateLimitResponse.Types.Code;

namespace Platform.RateLimit.Envoy;

/// <summary>
/// envoy.service.ratelimit.v3.RateLimitService on the same port as the native API: a drop-in
/// replacement for envoyproxy/ratelimit, deciding every descriptor in one Redis round trip.
/// Envoy authenticates like any caller (its grpc_service's initial_metadata carries the key), and its
/// counters belong to its credential's team.
/// </summary>
[Microsoft.AspNetCore.Authorization.Authorize(Roles = PlatformRoles.UserOrAdmin)]
public sealed class EnvoyRateLimitService(EnvoyConfigStore config, RateLimitDecider decider) : RateLimitService.RateLimitServiceBase
{
    public override async Task<RateLimitResponse> ShouldRateLimit(RateLimitRequest request, ServerCallContext context)
    {
        new RequestValidator().Check(request.Domain.Length > 0, "domain", "required").ThrowIfInvalid();
        var hits = request.HitsAddend == 0 ? 1 : request.HitsAddend;
        var limits = request.Descriptors.Select(d => config.Find(request.Domain, d)).ToList();
        var caller = Caller.Of(context);
        var checks = limits.OfType<EnvoyLimit>()
            .Select(l => new LimitCheck(l.PolicyName, l.Policy, caller.Scope(l.CounterKey), hits))
            .ToList();
        var decisions = checks.Count == 0 ? [] : (await decider.DecideAsync(checks, allOrNothing: false)).Results;

        var response = new RateLimitResponse { OverallCode = Code.Ok };
        var next = 0;
        (EnvoyLimit Limit, Decision Decision)? tightest = null;
        foreach (var limit in limits)
        {
            if (limit is null)
            {
                response.Statuses.Add(new RateLimitResponse.Types.DescriptorStatus { Code = Code.Ok });
                continue;
            }
            var decision = decisions[next++];
            var code = decision.Allowed ? Code.Ok : Code.OverLimit;
            if (code == Code.OverLimit)
            {
                response.OverallCode = Code.OverLimit;
            }
            response.Statuses.Add(new RateLimitResponse.Types.DescriptorStatus
            {
                Code = code,
                CurrentLimit = new RateLimitResponse.Types.RateLimit { Name = limit.Name, RequestsPerUnit = limit.RequestsPerUnit, Unit = limit.Unit },
                LimitRemaining = decision.Remaining,
                DurationUntilReset = Duration.FromTimeSpan(decision.ResetAfter),
            });
            if (tightest is null || decision.Remaining < tightest.Value.Decision.Remaining)
            {
                tightest = (limit, decision);
            }
        }

        if (tightest is var (tight, tightDecision))
        {
            var window = (long)EnvoyUnits.Window(tight.Unit)!.Value.TotalSeconds;
            var reset = (long)Math.Ceiling(tightDecision.ResetAfter.TotalSeconds);
            response.ResponseHeadersToAdd.Add(new HeaderValue { Key = "RateLimit-Policy", Value = $"\"{tight.Name}\";q={tight.RequestsPerUnit};w={window}" });
            response.ResponseHeadersToAdd.Add(new HeaderValue { Key = "RateLimit", Value = $"\"{tight.Name}\";r={tightDecision.Remaining};t={reset}" });
        }
        return response;
    }
}
