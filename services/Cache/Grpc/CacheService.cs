using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.Cache.V1;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Admission;

namespace Platform.Cache.Grpc;

/// <summary>
/// Cache over gRPC. Namespaces are stored per team ("team/namespace"), so a team reaches only its own
/// entries, tags and stats whatever namespace it names.
/// </summary>
[Microsoft.AspNetCore.Authorization.Authorize(Roles = PlatformRoles.UserOrAdmin)]
public sealed class CacheService(SharedCache cache, IOptionsMonitor<CacheOptions> options) : V1.Cache.CacheBase
{
    static readonly TimeSpan DefaultLeaseTtl = TimeSpan.FromSeconds(30);
    static readonly TimeSpan MaxLeaseTtl = TimeSpan.FromMinutes(10);
    static readonly TimeSpan DefaultMaxWait = TimeSpan.FromSeconds(10);
    static readonly TimeSpan MaxMaxWait = TimeSpan.FromSeconds(60);

    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        Entry(request.Namespace, request.Key).ThrowIfInvalid();
        return ToResponse(await cache.GetAsync(Scoped(request.Namespace, context), request.Key));
    }

    public override async Task<GetManyResponse> GetMany(GetManyRequest request, ServerCallContext context)
    {
        var limits = options.CurrentValue;
        var validator = new RequestValidator()
            .CheckName(request.Namespace, "namespace")
            .Check(request.Keys.Count is > 0 && request.Keys.Count <= limits.MaxBatch, "keys", $"1-{limits.MaxBatch} keys");
        for (var i = 0; i < request.Keys.Count; i++)
        {
            validator.CheckRequiredBytes(request.Keys[i], $"keys[{i}]", limits.MaxKeyBytes);
        }
        validator.ThrowIfInvalid();

        // Concurrent calls share one pipelined Redis connection: one round trip's worth of latency.
        var ns = Scoped(request.Namespace, context);
        var reads = await Task.WhenAll(request.Keys.Select(key => cache.GetAsync(ns, key)));
        return new GetManyResponse { Results = { reads.Select(ToResponse) } };
    }

    public override async Task<SetResponse> Set(SetRequest request, ServerCallContext context)
    {
        var ttl = request.Ttl.ToTimeSpanOrInvalid();
        Entry(request.Namespace, request.Key).ThrowIfInvalid();
        ValueTtlTags(new RequestValidator(), request.Value, ttl, request.Tags, "").ThrowIfInvalid();
        await cache.SetAsync(Scoped(request.Namespace, context), request.Key, request.Value.Memory, ttl!.Value, request.Tags);
        return new SetResponse();
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        Entry(request.Namespace, request.Key).ThrowIfInvalid();
        return new DeleteResponse { Deleted = await cache.DeleteAsync(Scoped(request.Namespace, context), request.Key) };
    }

    public override async Task<InvalidateTagsResponse> InvalidateTags(InvalidateTagsRequest request, ServerCallContext context)
    {
        var validator = new RequestValidator().CheckName(request.Namespace, "namespace")
            .Check(request.Tags.Count > 0, "tags", "at least one tag");
        Tags(validator, request.Tags, "").ThrowIfInvalid();
        await cache.InvalidateTagsAsync(Scoped(request.Namespace, context), request.Tags);
        return new InvalidateTagsResponse();
    }

    [AdminRpc]
    public override async Task<ClearResponse> Clear(ClearRequest request, ServerCallContext context)
    {
        new RequestValidator().CheckName(request.Namespace, "namespace").ThrowIfInvalid();
        var team = Caller.ActingTeam(context, request.Team);
        return new ClearResponse { Removed = (ulong)await cache.ClearAsync(Caller.Scope(team, request.Namespace)) };
    }

    public override async Task<LookupResponse> Lookup(LookupRequest request, ServerCallContext context)
    {
        var leaseTtl = request.LeaseTtl.ToTimeSpanOrInvalid() ?? DefaultLeaseTtl;
        var maxWait = request.MaxWait.ToTimeSpanOrInvalid() ?? DefaultMaxWait;
        Entry(request.Namespace, request.Key)
            .Check(leaseTtl >= TimeSpan.FromSeconds(1) && leaseTtl <= MaxLeaseTtl, "lease_ttl", $"between 1 s and {MaxLeaseTtl}")
            .Check(maxWait >= TimeSpan.Zero && maxWait <= MaxMaxWait, "max_wait", $"between 0 and {MaxMaxWait}")
            .ThrowIfInvalid();

        return await cache.LookupAsync(Scoped(request.Namespace, context), request.Key, leaseTtl, maxWait, context.CancellationToken) switch
        {
            LookupResult.Hit hit => new LookupResponse
            {
                Hit = new LookupResponse.Types.Hit
                {
                    Value = UnsafeByteOperations.UnsafeWrap(hit.Read.Value),
                    TtlRemaining = hit.Read.TtlRemaining is { } ttl ? Duration.FromTimeSpan(ttl) : null,
                    Tags = { hit.Read.Tags },
                    Waited = hit.Waited,
                },
            },
            LookupResult.Lease lease => new LookupResponse
            {
                Lease = new LookupResponse.Types.Lease { Token = lease.Token, LeaseTtl = Duration.FromTimeSpan(lease.LeaseTtl) },
            },
            LookupResult.Timeout timeout => new LookupResponse
            {
                Timeout = new LookupResponse.Types.Timeout { LeaseRemaining = Duration.FromTimeSpan(timeout.LeaseRemaining) },
            },
            _ => throw new InvalidOperationException(),
        };
    }

    [NeverShed] // frees capacity: never refused under load
    public override async Task<FillResponse> Fill(FillRequest request, ServerCallContext context)
    {
        var ttl = request.Ttl.ToTimeSpanOrInvalid();
        Entry(request.Namespace, request.Key).Check(request.Token.Length is > 0 and <= 64, "token", "required; the token from Lookup").ThrowIfInvalid();
        ValueTtlTags(new RequestValidator(), request.Value, ttl, request.Tags, "").ThrowIfInvalid();
        if (!await cache.FillAsync(Scoped(request.Namespace, context), request.Key, request.Token, request.Value.Memory, ttl!.Value, request.Tags))
        {
            throw LeaseLost();
        }
        return new FillResponse();
    }

    [NeverShed] // frees capacity: never refused under load
    public override async Task<AbandonResponse> Abandon(AbandonRequest request, ServerCallContext context)
    {
        Entry(request.Namespace, request.Key).Check(request.Token.Length is > 0 and <= 64, "token", "required; the token from Lookup").ThrowIfInvalid();
        if (!await cache.AbandonAsync(Scoped(request.Namespace, context), request.Key, request.Token))
        {
            throw LeaseLost();
        }
        return new AbandonResponse();
    }

    public override async Task<GetStatsResponse> GetStats(GetStatsRequest request, ServerCallContext context)
    {
        new RequestValidator().CheckName(request.Namespace, "namespace").ThrowIfInvalid();
        var team = Caller.ActingTeam(context, request.Team);
        var s = await cache.GetStatsAsync(Caller.Scope(team, request.Namespace));
        return new GetStatsResponse
        {
            Hits = (ulong)s.Hits,
            Misses = (ulong)s.Misses,
            HitRatio = s.Hits + s.Misses == 0 ? 0 : (double)s.Hits / (s.Hits + s.Misses),
            Fills = (ulong)s.Fills,
            LeaseWaits = (ulong)s.LeaseWaits,
            Keys = (ulong)s.Keys,
            Bytes = (ulong)Math.Max(0, s.Bytes),
            Evictions = (ulong)s.Evictions,
            L1Hits = (ulong)s.L1Hits,
        };
    }

    /// <summary>The namespace as stored: the caller's team's.</summary>
    static string Scoped(string ns, ServerCallContext context) => Caller.Of(context).Scope(ns);

    static RpcException LeaseLost() =>
        new(new Status(StatusCode.FailedPrecondition, "The lease is no longer yours: it expired and another caller holds it now. Its Fill wins."));

    RequestValidator Entry(string ns, string key) =>
        new RequestValidator().CheckName(ns, "namespace").CheckRequiredBytes(key, "key", options.CurrentValue.MaxKeyBytes);

    RequestValidator ValueTtlTags(RequestValidator validator, ByteString value, TimeSpan? ttl, IReadOnlyList<string> tags, string prefix)
    {
        var limits = options.CurrentValue;
        validator
            .Check(value.Length <= limits.MaxValueBytes, prefix + "value", $"at most {limits.MaxValueBytes} bytes (got {value.Length})")
            .Check(ttl is { } t && t >= limits.MinTtl && t <= limits.MaxTtl, prefix + "ttl", $"required; between {limits.MinTtl} and {limits.MaxTtl}");
        return Tags(validator, tags, prefix);
    }

    RequestValidator Tags(RequestValidator validator, IReadOnlyList<string> tags, string prefix)
    {
        var limits = options.CurrentValue;
        validator.Check(tags.Count <= limits.MaxTags, prefix + "tags", $"at most {limits.MaxTags} tags");
        for (var i = 0; i < tags.Count; i++)
        {
            validator
                .CheckRequiredBytes(tags[i], $"{prefix}tags[{i}]", limits.MaxTagBytes)
                .Check(!tags[i].Contains('\n'), $"{prefix}tags[{i}]", "must not contain a line break");
        }
        return validator;
    }

    static GetResponse ToResponse(CacheRead read) => new()
    {
        Found = read.Found,
        Value = UnsafeByteOperations.UnsafeWrap(read.Value),
        TtlRemaining = read.TtlRemaining is { } ttl ? Duration.FromTimeSpan(ttl) : null,
        Stale = read.Stale,
        Tags = { read.Tags },
    };
}
