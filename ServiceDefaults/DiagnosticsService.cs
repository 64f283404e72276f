using Grpc.Core;
using Platform.Diagnostics.V1;

namespace Platform.ServiceDefaults;

/// <summary>platform.diagnostics.v1.Diagnostics: a no-op RPC, the baseline for every service's benchmarks.</summary>
public sealed class DiagnosticsService : Diagnostics.V1.Diagnostics.DiagnosticsBase
{
    static readonly Task<PingResponse> Pong = Task.FromResult(new PingResponse());

    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) => Pong;
}
