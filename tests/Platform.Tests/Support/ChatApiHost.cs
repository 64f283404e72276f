using Grpc.Net.Client;
using Platform.ChatApi.Grpc;

namespace Platform.Tests.Support;

/// <summary>ChatApi on two free loopback ports (HTTP/1.1 API, HTTP/2 gRPC), dependencies found the Aspire way.</summary>
public sealed class ChatApiHost(ServiceHost<ChatService> host) : IDisposable
{
    public Uri HttpAddress => host.Http1Address;

    public IServiceProvider Services => host.Services;

    public GrpcChannel GrpcChannel() => Grpc.Net.Client.GrpcChannel.ForAddress(host.GrpcAddress);

    public static ChatApiHost Start(string rateLimitAddress, string cacheAddress, string modelLatency = "00:00:00", string? apiKeys = null) =>
        Start(rateLimitAddress, cacheAddress, new Dictionary<string, string?> { ["Chat:Simulated:Latency"] = modelLatency, ["Chat:ApiKeys"] = apiKeys });

    public static ChatApiHost Start(string rateLimitAddress, string cacheAddress, IDictionary<string, string?> chatSettings)
    {
        // Port 0: Kestrel picks free ports as it binds (a port probed free beforehand can be taken by a
        // concurrently starting host before this one binds it).
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:grpc:Url"] = "http://127.0.0.1:0",
            ["services:ratelimit:http:0"] = rateLimitAddress,
            ["services:cache:http:0"] = cacheAddress,
            ["Chat:Simulated:Latency"] = "00:00:00",
        };
        foreach (var (key, value) in chatSettings)
        {
            settings[key] = value;
        }
        return new ChatApiHost(new ServiceHost<ChatService>(settings));
    }

    public void Dispose() => host.Dispose();
}
