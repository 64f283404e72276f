using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Platform.Cache.V1;
using Platform.Diagnostics.V1;
using Platform.ServiceDefaults;

namespace Platform.Cache;

/// <summary>Start-up warm-up: Set, Get (hit and miss) and Lookup + Fill, in the warm-up team's own namespace, entries living seconds.</summary>
sealed class CacheWarmUp : IWarmUpCall
{
    static readonly ByteString Value = ByteString.CopyFrom(new byte[1024]);
    static readonly Duration Ttl = Duration.FromTimeSpan(TimeSpan.FromSeconds(30));

    public async Task RunAsync(WarmUpTarget target, long iteration, CancellationToken cancellationToken)
    {
        if (target.Grpc is null)
        {
            return;
        }
        await new Diagnostics.V1.Diagnostics.DiagnosticsClient(target.Grpc).PingAsync(new PingRequest(), cancellationToken: cancellationToken);
        var cache = new V1.Cache.CacheClient(target.Grpc);
        var key = "k" + iteration % 64;
        await cache.SetAsync(new SetRequest { Namespace = "warm-up", Key = key, Value = Value, Ttl = Ttl }, cancellationToken: cancellationToken);
        await cache.GetAsync(new GetRequest { Namespace = "warm-up", Key = key }, cancellationToken: cancellationToken);
        await cache.GetAsync(new GetRequest { Namespace = "warm-up", Key = "missing" }, cancellationToken: cancellationToken);
        var lookup = await cache.LookupAsync(new LookupRequest { Namespace = "warm-up", Key = "lookup-" + iteration, LeaseTtl = Ttl }, cancellationToken: cancellationToken);
        if (lookup.Lease is { } lease)
        {
            await cache.FillAsync(new FillRequest { Namespace = "warm-up", Key = "lookup-" + iteration, Token = lease.Token, Value = Value, Ttl = Ttl }, cancellationToken: cancellationToken);
        }
    }
}
