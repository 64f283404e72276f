using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Platform.Cache.V1;
using Platform.ChatApi;
using Platform.ChatApi.Http;
using Platform.RateLimit.V1;

namespace Platform.Microbench;

/// <summary>
/// The per-request work that does not wait on the network: hashing a conversation into its cache key,
/// and (de)serialising the messages every chat request sends and receives. Script invocation against
/// Redis is measured end to end by bench/Platform.Bench, beside raw EVALSHA.
/// </summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    readonly ChatTurn shortTurn = new(null, [new ChatTurnMessage("user", "How many users can the platform hold?")], 0.7, 256);
    readonly ChatTurn longTurn = new(null, Enumerable.Range(0, 20).Select(i => new ChatTurnMessage(i % 2 == 0 ? "user" : "assistant",
        string.Join(' ', Enumerable.Repeat("a sentence of a longer conversation", 20)))).ToList(), 0.7, 1024);
    readonly CheckManyRequest checkMany = new()
    {
        AllOrNothing = true,
        Checks = { new CheckRequest { Policy = "chat", Key = "key:web" }, new CheckRequest { Policy = "chat-tokens", Key = "key:web", Cost = 312 } },
    };
    byte[] lookupHitBytes = [];
    readonly ChatCompletion completion = new("chatcmpl-1", "platform-sim-1", string.Join(' ', Enumerable.Repeat("word", 200)), "stop", 12, 200, 1_795_000_000);

    [GlobalSetup]
    public void Setup()
    {
        lookupHitBytes = new LookupResponse { Hit = new LookupResponse.Types.Hit { Value = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(completion)) } }.ToByteArray();
    }

    [Benchmark(Description = "Cache key: 1-message conversation")]
    public string CacheKeyShort() => ChatPipeline.ResponseCacheKey("platform-sim-1", shortTurn);

    [Benchmark(Description = "Cache key: 20 messages, ~4 KB")]
    public string CacheKeyLong() => ChatPipeline.ResponseCacheKey("platform-sim-1", longTurn);

    [Benchmark(Description = "Protobuf: CheckManyRequest write + read")]
    public CheckManyRequest CheckManyRoundTrip() => CheckManyRequest.Parser.ParseFrom(checkMany.ToByteArray());

    [Benchmark(Description = "Protobuf: LookupResponse hit read + answer JSON decode")]
    public ChatCompletion? LookupHitDecode() =>
        JsonSerializer.Deserialize<ChatCompletion>(LookupResponse.Parser.ParseFrom(lookupHitBytes).Hit.Value.Span);

    [Benchmark(Description = "JSON: chat.completion response body")]
    public byte[] CompletionJson() => JsonSerializer.SerializeToUtf8Bytes(ChatCompletionResponse.From(completion));
}
