using Grpc.Net.Client;
using Platform.ChatApi.Grpc;

namespace Platform.Tests.Support;

/// <summary>ChatApi on two free loopback ports (HTTP/1.1 API, HTTP/2 gRPC), dependencies found the Aspire way.</summary>
public sealed class ChatApiHost(ServiceHost<ChatService> host, Uri httpAddress, Uri grpcAddress) : IDisposable
{
    public Uri HttpAddress => httpAddress;

    public IServiceProvider Services => host.Services;

    public GrpcChannel GrpcChannel() => Grpc.Net.Client.GrpcChannel.ForAddress(grpcAddress);

    public static ChatApiHost Start(string rateLimitAddress, string cacheAddress, string modelLatency = "00:00:00", string? apiKeys = null) =>
        Start(rateLimitAddress, cacheAddress, new Dictionary<string, string?> { ["Chat:Simulated:Latency"] = modelLatency, ["Chat:ApiKeys"] = apiKeys });

    public static ChatApiHost Start(string rateLimitAddress, string cacheAddress, IDictionary<string, string?> chatSettings)
    {
        var http = new Uri($"http://127.0.0.1:{RedisFixture.FreePort()}");
        var grpc = new Uri($"http://127.0.0.1:{RedisFixture.FreePort()}");
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:http:Url"] = http.ToString(),
            ["Kestrel:Endpoints:grpc:Url"] = grpc.ToString(),
            ["services:ratelimit:http:0"] = rateLimitAddress,
            ["services:cache:http:0"] = cacheAddress,
            ["Chat:Simulated:Latency"] = "00:00:00",
        };
        foreach (var (key, value) in chatSettings)
        {
            settings[key] = value;
        }
        var host = new ServiceHost<ChatService>(settings);
        return new ChatApiHost(host, http, grpc);
    }

    public void Dispose() => host.Dispose();
}
