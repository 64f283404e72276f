using Google.Rpc;
using Grpc.Core;

namespace Platform.Client;

/// <summary>Reading the rich error details Platform services send.</summary>
public static class RpcExceptionExtensions
{
    /// <summary>
    /// The retry_delay of the google.rpc.RetryInfo in the error's <c>grpc-status-details-bin</c> trailer (sent with
    /// RESOURCE_EXHAUSTED, e.g. by a full AudioQueue); null when there is none. Useful for a <c>Retry-After</c>.
    /// </summary>
    /// <param name="failure">A failed call.</param>
    /// <returns>How long the server asks the caller to wait before trying again.</returns>
    public static TimeSpan? GetRetryDelay(this RpcException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        if (failure.GetRpcStatus()?.GetDetail<RetryInfo>()?.RetryDelay is not { } retryDelay)
        {
            return null;
        }
        var delay = retryDelay.ToTimeSpan();
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
    }
}
