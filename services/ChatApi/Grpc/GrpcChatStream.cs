using Grpc.Core;
using Platform.Chat.V1;

namespace Platform.ChatApi.Grpc;

/// <summary>Writes an answer as platform.chat.v1.CompleteChunk messages.</summary>
public sealed class GrpcChatStream(IServerStreamWriter<CompleteChunk> writer) : IChatStreamSink
{
    string id = "";

    public Task StartAsync(RateLimitState rateLimit, CacheStatus cache, string id, string model, long created)
    {
        this.id = id;
        return writer.WriteAsync(new CompleteChunk { Id = id, Model = model, Cached = cache == CacheStatus.Hit });
    }

    public Task PieceAsync(string text) => writer.WriteAsync(new CompleteChunk { Id = id, Content = text });

    public Task FinishAsync(string finishReason) => writer.WriteAsync(new CompleteChunk { Id = id, FinishReason = finishReason });
}
