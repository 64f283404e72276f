using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.AudioQueue.Grpc;
using Platform.Cache.Grpc;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;
using Platform.Tests.Unit.Audio;

namespace Platform.Tests.ChatApi;

/// <summary>Voice messages through ChatApi, with real RateLimit, Cache and AudioQueue (and its audio worker) behind it.</summary>
public sealed class VoiceMessagesTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    static readonly byte[] Speech = TestSignals.Wav(TestSignals.Concat(
        TestSignals.Silence(0.3, 22_050), TestSignals.Tone(300, 0.8, 22_050), TestSignals.Silence(0.5, 22_050),
        TestSignals.Tone(300, 0.4, 22_050), TestSignals.Silence(0.3, 22_050)), 22_050);

    CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>The stack with an in-flight limit of 2 voice messages per caller and uploads otherwise unlimited.</summary>
    async Task<(HttpClient Http, Platform.AudioQueue.V1.AudioQueue.AudioQueueClient Queue)> StartAsync(bool worker, params (string Key, string? Value)[] chat)
    {
        var ratelimit = Start<RateLimiterService>(redis,
            ("RateLimit:Policies:audio:Limit", "1000"), ("RateLimit:Policies:audio:Burst", "1000"),
            ("RateLimit:Policies:audio-inflight:Limit", "2")).Addresses[0].ToString();
        var cache = Start<CacheService>(redis).Addresses[0].ToString();
        var audioQueue = Start<AudioQueueService>(redis, ("AudioQueue:Worker:Enabled", worker ? "true" : "false"));
        await redis.FlushAsync();
        var settings = new Dictionary<string, string?> { ["services:audioqueue:http:0"] = audioQueue.Addresses[0].ToString() };
        foreach (var (key, value) in chat)
        {
            settings[key] = value;
        }
        var host = Track(ChatApiHost.Start(ratelimit, cache, settings));
        return (Track(new HttpClient { BaseAddress = host.HttpAddress }), new(audioQueue.Channel()));
    }

    static ByteArrayContent Audio(byte[] bytes, string contentType = "audio/wav")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    static async Task<string> ErrorCodeOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString()!;

    [Fact]
    public async Task A_voice_message_is_queued_processed_and_its_events_stream_to_the_result()
    {
        var (http, _) = await StartAsync(worker: true);

        var accepted = await http.PostAsync("/v1/audio/messages", Audio(Speech), Cancel);
        var message = await accepted.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var id = message.GetProperty("id").GetString()!;
        var events = await http.GetStringAsync($"/v1/audio/messages/{id}/events", Cancel);
        var snapshots = events.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        var final = await http.GetFromJsonAsync<JsonElement>($"/v1/audio/messages/{id}", Cancel);
        var processed = await http.GetAsync($"/v1/audio/messages/{id}/audio", Cancel);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal($"/v1/audio/messages/{id}", accepted.Headers.Location!.ToString());
        Assert.Equal("audio.message", message.GetProperty("object").GetString());
        Assert.True(message.TryGetProperty("position", out _));
        Assert.Equal("succeeded", snapshots[^1].GetProperty("status").GetString());
        Assert.Single(snapshots, s => s.GetProperty("status").GetString() == "succeeded");
        Assert.Equal("succeeded", final.GetProperty("status").GetString());
        Assert.Equal(2, final.GetProperty("result").GetProperty("segments").GetArrayLength());
        Assert.Equal(22_050, final.GetProperty("result").GetProperty("sample_rate_in").GetInt32());
        Assert.Equal("audio/wav", processed.Content.Headers.ContentType!.MediaType);
        Assert.Equal(16_000, TestSignals.ReadPcm16(await processed.Content.ReadAsByteArrayAsync(Cancel)).SampleRate);
    }

    [Fact]
    public async Task A_multipart_upload_is_accepted_by_its_file_name()
    {
        var (http, _) = await StartAsync(worker: false);
        using var form = new MultipartFormDataContent { { Audio(Speech, "application/octet-stream"), "file", "note.wav" } };

        var accepted = await http.PostAsync("/v1/audio/messages", form, Cancel);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("queued", (await accepted.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Bad_uploads_get_clear_errors()
    {
        var (http, _) = await StartAsync(worker: false, ("Chat:Voice:MaxAudioBytes", "4096"));

        var text = await http.PostAsync("/v1/audio/messages", new StringContent("hello", Encoding.UTF8, "text/plain"), Cancel);
        var empty = await http.PostAsync("/v1/audio/messages", Audio([]), Cancel);
        var large = await http.PostAsync("/v1/audio/messages", Audio(new byte[100_000]), Cancel);
        using var largeForm = new MultipartFormDataContent { { Audio(new byte[5_000]), "file", "long.wav" } };
        var largePart = await http.PostAsync("/v1/audio/messages", largeForm, Cancel);
        var missing = await http.GetAsync($"/v1/audio/messages/{Guid.NewGuid()}", Cancel);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.Equal("unsupported_media_type", await ErrorCodeOf(text));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Contains("4096", (await large.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, largePart.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Each_caller_has_a_limit_of_messages_in_flight_freed_when_one_finishes()
    {
        var (http, queue) = await StartAsync(worker: false);
        var first = await http.PostAsync("/v1/audio/messages", Audio(Speech), Cancel);
        await http.PostAsync("/v1/audio/messages", Audio(Speech), Cancel);

        var third = await http.PostAsync("/v1/audio/messages", Audio(Speech), Cancel);
        var id = (await first.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetString()!;
        await queue.CancelAsync(new Platform.AudioQueue.V1.CancelRequest { JobId = id });
        var seen = await http.GetFromJsonAsync<JsonElement>($"/v1/audio/messages/{id}", Cancel);
        var fourth = await http.PostAsync("/v1/audio/messages", Audio(Speech), Cancel);

        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.True(third.Headers.RetryAfter is not null);
        Assert.Contains("in progress", (await third.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("detail").GetString());
        Assert.Equal("cancelled", seen.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Accepted, fourth.StatusCode);
    }

    [Fact]
    public async Task A_caller_cannot_see_another_callers_message()
    {
        var (http, _) = await StartAsync(worker: false, ("Chat:ApiKeys", "alice=sk-alice;bob=sk-bob"));
        HttpRequestMessage As(string key, HttpMethod method, string path, HttpContent? content = null) =>
            new(method, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) }, Content = content };

        var posted = await http.SendAsync(As("sk-alice", HttpMethod.Post, "/v1/audio/messages", Audio(Speech)), Cancel);
        var id = (await posted.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetString()!;
        var alice = await http.SendAsync(As("sk-alice", HttpMethod.Get, $"/v1/audio/messages/{id}"), Cancel);
        var bob = await http.SendAsync(As("sk-bob", HttpMethod.Get, $"/v1/audio/messages/{id}"), Cancel);
        var bobEvents = await http.SendAsync(As("sk-bob", HttpMethod.Get, $"/v1/audio/messages/{id}/events"), Cancel);
        var anonymous = await http.PostAsync("/v1/audio/messages", Audio(Speech), Cancel);

        Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, bob.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, bobEvents.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Voice_answers_503_while_AudioQueue_is_unreachable_and_chat_keeps_answering()
    {
        var nowhere = $"http://127.0.0.1:{RedisFixture.FreePort()}";
        var ratelimit = Start<RateLimiterService>(redis).Addresses[0].ToString();
        var cache = Start<CacheService>(redis).Addresses[0].ToString();
        var chat = Track(ChatApiHost.Start(ratelimit, cache, new Dictionary<string, string?> { ["services:audioqueue:http:0"] = nowhere }));
        var http = Track(new HttpClient { BaseAddress = chat.HttpAddress });

        var voice = await http.PostAsync("/v1/audio/messages", Audio(Speech), Cancel);
        var answer = await http.PostAsync("/v1/chat/completions",
            new StringContent("{\"messages\":[{\"role\":\"user\",\"content\":\"voice is down, am I?\"}]}", Encoding.UTF8, "application/json"), Cancel);
        var health = await http.GetAsync("/health", Cancel);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, voice.StatusCode);
        Assert.Equal("service_unavailable", await ErrorCodeOf(voice));
        Assert.True(voice.Headers.RetryAfter is not null);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("Degraded", HealthBody.Status(await health.Content.ReadAsStringAsync(Cancel)));
    }
}
