using Grpc.Core;
using Grpc.Net.Client;

namespace Platform;

/// <summary>A gRPC channel to a Platform service that sends a team's API key on every call.</summary>
public static class PlatformChannel
{
    /// <param name="apiKey">Sent as <c>authorization: Bearer &lt;key&gt;</c>; none when null or empty.</param>
    /// <param name="options">Other channel settings (a handler, message limits); its credentials are replaced.</param>
    public static GrpcChannel ForAddress(Uri address, string? apiKey, GrpcChannelOptions? options = null)
    {
        options ??= new GrpcChannelOptions();
        if (!string.IsNullOrEmpty(apiKey))
        {
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", "Bearer " + apiKey);
                return Task.CompletedTask;
            }));
            // Platform services speak cleartext h2c inside a cluster or on loopback; gRPC sends call credentials
            // over it only when told to. Across untrusted networks use an https address.
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }
        return GrpcChannel.ForAddress(address, options);
    }
}
