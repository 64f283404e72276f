using Platform.AudioQueue.V1;
using Platform.Diagnostics.V1;
using Platform.ServiceDefaults;

namespace Platform.AudioQueue;

/// <summary>Start-up warm-up: the read paths (stats, a job lookup). It never enqueues: that would put jobs in front of real ones.</summary>
sealed class QueueWarmUp : IWarmUpCall
{
    public async Task RunAsync(WarmUpTarget target, long iteration, CancellationToken cancellationToken)
    {
        if (target.Grpc is null)
        {
            return;
        }
        await new Diagnostics.V1.Diagnostics.DiagnosticsClient(target.Grpc).PingAsync(new PingRequest(), cancellationToken: cancellationToken);
        var queue = new V1.AudioQueue.AudioQueueClient(target.Grpc);
        await queue.GetStatsAsync(new GetStatsRequest(), cancellationToken: cancellationToken);
    }
}
