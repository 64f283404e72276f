using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.Cache.V1;
using Platform.ServiceDefaults;

namespace Platform.Cache.Grpc;

public sealed class CacheService(CacheStore store, IOptionsMonitor<CacheOptions> options) : V1.Cache.CacheBase
{
    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        ValidateEntryName(new RequestValidator(), request.Namespace, request.Key).ThrowIfInvalid();

        var entry = await store.GetAsync(request.Namespace, request.Key);
        return entry is { } found
            ? new GetResponse { Found = true, Value = UnsafeByteOperations.UnsafeWrap(found.Value), TtlRemaining = Duration.FromTimeSpan(found.TtlRemaining) }
            : new GetResponse { Found = false };
    }

    public override async Task<SetResponse> Set(SetRequest request, ServerCallContext context)
    {
        var limits = options.CurrentValue;
        var ttl = request.Ttl?.ToTimeSpan();
        ValidateEntryName(new RequestValidator(), request.Namespace, request.Key)
            .Check(request.Value.Length <= limits.MaxValueBytes, "value", $"at most {limits.MaxValueBytes} bytes (got {request.Value.Length})")
            .Check(ttl is { } t && t >= limits.MinTtl && t <= limits.MaxTtl, "ttl", $"required; between {limits.MinTtl} and {limits.MaxTtl}")
            .ThrowIfInvalid();

        await store.SetAsync(request.Namespace, request.Key, request.Value.Memory, ttl!.Value);
        return new SetResponse();
    }

    RequestValidator ValidateEntryName(RequestValidator validator, string ns, string key)
    {
        var maxKeyBytes = options.CurrentValue.MaxKeyBytes;
        return validator
            .CheckName(ns, "namespace")
            .CheckRequiredBytes(key, "key", maxKeyBytes);
    }
}
