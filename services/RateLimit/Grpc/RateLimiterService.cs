using System.Diagnostics.CodeAnalysis;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.RateLimit.V1;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Admission;

namespace Platform.RateLimit.Grpc;

/// <summary>RateLimiter over gRPC. Keys are stored per team ("team/key"): a team's limits are its own.</summary>
[Microsoft.AspNetCore.Authorization.Authorize(Roles = PlatformRoles.UserOrAdmin)]
public sealed class RateLimiterService(RateLimitDecider decider, RedisRateLimiter limiter, IOptionsMonitor<RateLimitOptions> options)
    : RateLimiter.RateLimiterBase
{
    public const int MaxKeyBytes = 512;
    public const int MaxChecks = 32;
    static readonly TimeSpan DefaultLeaseTtl = TimeSpan.FromMinutes(5);
    static readonly TimeSpan MinLeaseTtl = TimeSpan.FromSeconds(1);
    static readonly TimeSpan MaxLeaseTtl = TimeSpan.FromHours(24);

    public override async Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        var check = ToCheck(request, "", Caller.Of(context));
        var decision = (await decider.DecideAsync([check], allOrNothing: false)).Results[0];
        return ToResponse(request.Policy, decision);
    }

    public override async Task<CheckManyResponse> CheckMany(CheckManyRequest request, ServerCallContext context)
    {
        new RequestValidator()
            .Check(request.Checks.Count is > 0 and <= MaxChecks, "checks", $"1-{MaxChecks} checks")
            .ThrowIfInvalid();
        var caller = Caller.Of(context);
        var checks = request.Checks.Select((c, i) => ToCheck(c, $"checks[{i}].", caller)).ToList();
        // One script decides all or nothing, and a script cannot span Redis Cluster slots.
        if (request.AllOrNothing && limiter.FirstCheckInAnotherSlot(checks) is { } other)
        {
            new RequestValidator()
                .Check(false, $"checks[{other}].key", "on a Redis Cluster, all_or_nothing checks must share their key; this one's counters live in another hash slot than checks[0].key's")
                .ThrowIfInvalid();
        }

        var decisions = await decider.DecideAsync(checks, request.AllOrNothing);
        return new CheckManyResponse
        {
            Allowed = decisions.Allowed,
            Results = { decisions.Results.Select((d, i) => ToResponse(checks[i].PolicyName, d)) },
        };
    }

    public override async Task<AcquireResponse> Acquire(AcquireRequest request, ServerCallContext context)
    {
        var ttl = request.LeaseTtl.ToTimeSpanOrInvalid() ?? DefaultLeaseTtl;
        ValidateTarget(request.Policy, request.Key, "")
            .Check(ttl >= MinLeaseTtl && ttl <= MaxLeaseTtl, "lease_ttl", $"between {MinLeaseTtl} and {MaxLeaseTtl}")
            .ThrowIfInvalid();
        var policy = FindPolicy(request.Policy, "", concurrency: true);

        var grant = await decider.AcquireAsync(request.Policy, policy, Caller.Of(context).Scope(request.Key), ttl);
        return new AcquireResponse
        {
            Allowed = grant.Allowed,
            LeaseId = grant.LeaseId,
            RetryAfter = Duration.FromTimeSpan(grant.RetryAfter),
            Limit = grant.Limit,
            Remaining = grant.Remaining,
            Degraded = grant.Degraded,
        };
    }

    [NeverShed] // frees capacity: never refused under load
    public override async Task<ReleaseResponse> Release(ReleaseRequest request, ServerCallContext context)
    {
        ValidateTarget(request.Policy, request.Key, "")
            .Check(request.LeaseId.Length is > 0 and <= 64, "lease_id", "required; the lease_id returned by Acquire")
            .ThrowIfInvalid();
        FindPolicy(request.Policy, "", concurrency: true);
        return new ReleaseResponse { Released = await decider.ReleaseAsync(request.Policy, Caller.Of(context).Scope(request.Key), request.LeaseId) };
    }

    public override Task<ListPoliciesResponse> ListPolicies(ListPoliciesRequest request, ServerCallContext context)
    {
        var response = new ListPoliciesResponse();
        foreach (var (name, policy) in Policies().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            response.Policies.Add(new Policy
            {
                Name = name,
                Algorithm = policy.Algorithm switch
                {
                    RateLimitAlgorithm.FixedWindow => Algorithm.FixedWindow,
                    RateLimitAlgorithm.SlidingWindow => Algorithm.SlidingWindow,
                    RateLimitAlgorithm.TokenBucket => Algorithm.TokenBucket,
                    _ => Algorithm.Concurrency,
                },
                Limit = policy.Limit,
                Window = policy.Algorithm == RateLimitAlgorithm.Concurrency ? null : Duration.FromTimeSpan(policy.Window),
                Burst = policy.Capacity,
                Shadow = policy.Shadow,
                FailureMode = policy.FailureMode switch
                {
                    RateLimit.FailureMode.Open => V1.FailureMode.Open,
                    RateLimit.FailureMode.Closed => V1.FailureMode.Closed,
                    _ => V1.FailureMode.Local,
                },
            });
        }
        return Task.FromResult(response);
    }

    [AdminRpc]
    public override async Task<ResetResponse> Reset(ResetRequest request, ServerCallContext context)
    {
        ValidateTarget(request.Policy, request.Key, "").ThrowIfInvalid();
        var team = Caller.ActingTeam(context, request.Team);
        FindPolicy(request.Policy, "", concurrency: null);
        await decider.ResetAsync(request.Policy, Caller.Scope(team, request.Key));
        return new ResetResponse();
    }

    LimitCheck ToCheck(CheckRequest request, string fieldPrefix, Caller caller)
    {
        ValidateTarget(request.Policy, request.Key, fieldPrefix).ThrowIfInvalid();
        var policy = FindPolicy(request.Policy, fieldPrefix, concurrency: false);
        var cost = request.HasCost ? request.Cost : 1;
        if (cost > policy.Capacity)
        {
            new RequestValidator()
                .Check(false, fieldPrefix + "cost", $"must not exceed {policy.Capacity}, the most policy '{request.Policy}' allows at once")
                .ThrowIfInvalid();
        }
        return new LimitCheck(request.Policy, policy, caller.Scope(request.Key), cost);
    }

    static RequestValidator ValidateTarget(string policy, string key, string fieldPrefix) =>
        new RequestValidator()
            .CheckName(policy, fieldPrefix + "policy")
            .CheckRequiredBytes(key, fieldPrefix + "key", MaxKeyBytes);

    /// <param name="concurrency">True: must be a Concurrency policy; false: must not be; null: any.</param>
    RateLimitPolicy FindPolicy(string name, string fieldPrefix, bool? concurrency)
    {
        if (!Policies().TryGetValue(name, out var policy))
        {
            GrpcErrors.ThrowNotFound($"Rate-limit policy '{name}' is not configured.", "policy", name);
        }
        var isConcurrency = policy.Algorithm == RateLimitAlgorithm.Concurrency;
        if (concurrency is { } wanted && wanted != isConcurrency)
        {
            new RequestValidator()
                .Check(false, fieldPrefix + "policy", wanted
                    ? $"'{name}' is a {policy.Algorithm} policy; Acquire and Release need a Concurrency policy"
                    : $"'{name}' is a Concurrency policy; use Acquire and Release")
                .ThrowIfInvalid();
        }
        return policy;
    }

    IReadOnlyDictionary<string, RateLimitPolicy> Policies()
    {
        try
        {
            return options.CurrentValue.Policies;
        }
        catch (OptionsValidationException e)
        {
            ThrowMisconfigured(e);
            return null;
        }
    }

    [DoesNotReturn]
    static void ThrowMisconfigured(OptionsValidationException e) =>
        throw new RpcException(new Status(StatusCode.FailedPrecondition, "Rate-limit configuration is invalid: " + e.Message));

    /// <summary>Shared by every response that waits for nothing (never mutated: responses are only serialized).</summary>
    static readonly Duration Zero = Duration.FromTimeSpan(TimeSpan.Zero);

    static CheckResponse ToResponse(string policy, Decision decision) => new()
    {
        Allowed = decision.Allowed,
        Limit = decision.Limit,
        Remaining = decision.Remaining,
        ResetAfter = Duration.FromTimeSpan(decision.ResetAfter),
        RetryAfter = decision.RetryAfter == TimeSpan.Zero ? Zero : Duration.FromTimeSpan(decision.RetryAfter),
        Policy = policy,
        Degraded = decision.Degraded,
        OverLimit = decision.OverLimit,
    };
}
