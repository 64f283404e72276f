using System.Net;
using System.Text;
using System.Text.Json;
using Platform.AudioQueue.Grpc;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.RateLimit.Grpc;
using Platform.Tests.Support;

namespace Platform.Tests.Transcoding;

public sealed class JsonTranscodingTestsOnRedis(RedisServerFixture redis) : JsonTranscodingTests(redis), IClassFixture<RedisServerFixture>;
public sealed class JsonTranscodingTestsOnGarnet(GarnetFixture redis) : JsonTranscodingTests(redis), IClassFixture<GarnetFixture>;
public sealed class JsonTranscodingTestsOnRedisCluster(RedisClusterFixture redis) : JsonTranscodingTests(redis), IClassFixture<RedisClusterFixture>;

/// <summary>
/// The gRPC services called as a team with only an HTTP client would: JSON over HTTP/1.1 on each
/// service's "json" endpoint, routes from the google.api.http options in protos/.
/// </summary>
public abstract class JsonTranscodingTests(RedisFixture redis) : HostedTest
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient JsonClient<TService>(params (string Key, string? Value)[] settings) where TService : class =>
        Track(Start<TService>(redis, settings).JsonClient());

    static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient http, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpVersion.Version11, response.Version);
        var body = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, JsonDocument.Parse(body).RootElement.Clone());
    }

    /// <summary>The google.rpc.Status detail of this type in an error body.</summary>
    static JsonElement Detail(JsonElement error, string type) =>
        error.GetProperty("details").EnumerateArray().Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc." + type);

    static TimeSpan Seconds(JsonElement duration) =>
        TimeSpan.FromSeconds(double.Parse(duration.GetString()!.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Rate_limit_check_allows_up_to_the_limit_then_denies_with_retry_after()
    {
        var http = JsonClient<RateLimiterService>(("RateLimit:Policies:two:Limit", "2"), ("RateLimit:Policies:two:Window", "01:00:00"));
        var check = $$"""{"policy":"two","key":"{{Guid.NewGuid()}}"}""";

        var first = await SendAsync(http, HttpMethod.Post, "/v1/ratelimit:check", check);
        var second = await SendAsync(http, HttpMethod.Post, "/v1/ratelimit:check", check);
        var denied = await SendAsync(http, HttpMethod.Post, "/v1/ratelimit:check", check);
        var policies = await SendAsync(http, HttpMethod.Get, "/v1/ratelimit/policies");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.True(first.Body.GetProperty("allowed").GetBoolean());
        Assert.Equal(1, first.Body.GetProperty("remaining").GetInt32());
        Assert.True(second.Body.GetProperty("allowed").GetBoolean());
        // A denial is an answer, not an error.
        Assert.Equal(HttpStatusCode.OK, denied.Status);
        Assert.False(denied.Body.GetProperty("allowed").GetBoolean());
        Assert.Equal(2, denied.Body.GetProperty("limit").GetInt32());
        Assert.InRange(Seconds(denied.Body.GetProperty("retryAfter")), TimeSpan.FromTicks(1), TimeSpan.FromHours(1));
        Assert.Contains(policies.Body.GetProperty("policies").EnumerateArray(), p => p.GetProperty("name").GetString() == "two");
    }

    [Fact]
    public async Task Invalid_arguments_are_400_with_bad_request_naming_the_fields_and_unknown_policies_404()
    {
        var http = JsonClient<RateLimiterService>();

        var invalid = await SendAsync(http, HttpMethod.Post, "/v1/ratelimit:check", """{"policy":"no spaces","key":""}""");
        var unknown = await SendAsync(http, HttpMethod.Post, "/v1/ratelimit:check", """{"policy":"nope","key":"k"}""");

        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Equal(3, invalid.Body.GetProperty("code").GetInt32());
        Assert.Equal(["policy", "key"], Detail(invalid.Body, "BadRequest").GetProperty("fieldViolations").EnumerateArray()
            .Select(v => v.GetProperty("field").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal(5, unknown.Body.GetProperty("code").GetInt32());
        Assert.Contains("nope", unknown.Body.GetProperty("message").GetString());
        Assert.Equal("nope", Detail(unknown.Body, "ResourceInfo").GetProperty("resourceName").GetString());
    }

    [Fact]
    public async Task Json_callers_need_a_key_and_admin_routes_need_the_admin_role()
    {
        var user = new TestCredential("json-user", "json-team", "json-user-key-0123456789", "user");
        var host = Start<RateLimiterService>(redis, [.. TestCredentials.Settings(user)]);
        const string check = """{"policy":"chat","key":"k"}""";

        using var anonymous = host.JsonClient(null);
        using var response = await anonymous.PostAsync("/v1/ratelimit:check", new StringContent(check, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var refused = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal(16, refused.GetProperty("code").GetInt32());
        Assert.Contains("authorization: Bearer <key>", refused.GetProperty("message").GetString());
        Assert.Equal("API_KEY_MISSING", Detail(refused, "ErrorInfo").GetProperty("reason").GetString());

        var asUser = Track(host.JsonClient(user));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(asUser, HttpMethod.Post, "/v1/ratelimit:check", check)).Status);
        var (status, body) = await SendAsync(asUser, HttpMethod.Post, "/v1/ratelimit:reset", check);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(7, body.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Malformed_json_is_400_saying_so()
    {
        var http = JsonClient<RateLimiterService>();

        var truncated = await SendAsync(http, HttpMethod.Post, "/v1/ratelimit:check", """{"policy":"chat",""");
        var wrongType = await SendAsync(http, HttpMethod.Post, "/v1/ratelimit:check", """{"policy":"chat","key":"k","cost":"many"}""");

        foreach (var (status, body) in new[] { truncated, wrongType })
        {
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(3, body.GetProperty("code").GetInt32());
            Assert.Equal("Request JSON payload is not correctly formatted.", body.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Cache_put_get_delete_roundtrip_with_base64_values_and_keys_holding_slashes_and_colons()
    {
        var host = Start<CacheService>(redis);
        var http = Track(host.JsonClient());
        var key = $"user:7/profile/{Guid.NewGuid()}";
        var entry = $"/v1/cache/json-tests/{key}";

        var put = await SendAsync(http, HttpMethod.Put, entry, """{"value":"AAEC/w==","ttl":"300s","tags":["user:7"]}""");
        var hit = await SendAsync(http, HttpMethod.Get, entry);
        // The same entry through gRPC: one service, two endpoints.
        var overGrpc = await new Platform.Cache.V1.Cache.CacheClient(host.Channel()).GetAsync(new GetRequest { Namespace = "json-tests", Key = key });
        // DELETE without a key is a bad request, never the namespace (that is POST :clear).
        var keyless = await SendAsync(http, HttpMethod.Delete, "/v1/cache/json-tests");
        var stats = await SendAsync(http, HttpMethod.Get, "/v1/cache/json-tests:stats");
        var deleted = await SendAsync(http, HttpMethod.Delete, entry);
        var miss = await SendAsync(http, HttpMethod.Get, entry);

        Assert.Equal(HttpStatusCode.OK, put.Status);
        Assert.Equal(HttpStatusCode.OK, hit.Status);
        Assert.True(hit.Body.GetProperty("found").GetBoolean());
        Assert.Equal("AAEC/w==", hit.Body.GetProperty("value").GetString());
        Assert.Equal(["user:7"], hit.Body.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.InRange(Seconds(hit.Body.GetProperty("ttlRemaining")), TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, overGrpc.Value.ToByteArray());
        Assert.Equal(HttpStatusCode.BadRequest, keyless.Status);
        Assert.Equal("key", Detail(keyless.Body, "BadRequest").GetProperty("fieldViolations")[0].GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.OK, stats.Status);
        Assert.True(stats.Body.TryGetProperty("hits", out _));
        Assert.True(deleted.Body.GetProperty("deleted").GetBoolean());
        Assert.False(miss.Body.GetProperty("found").GetBoolean());
    }

    [Fact]
    public async Task Audio_job_is_enqueued_read_and_watched_to_its_end_while_a_json_worker_processes_it()
    {
        var http = JsonClient<AudioQueueService>(("AudioQueue:Worker:Enabled", "false"));
        // Positions and leases are queue-wide: start from an empty queue.
        await redis.FlushAsync();
        var audio = Convert.ToBase64String("RIFF....WAVEfmt "u8);

        var enqueued = await SendAsync(http, HttpMethod.Post, "/v1/audio/jobs",
            $$$"""{"audio":"{{{audio}}}","contentType":"audio/wav","priority":"PRIORITY_HIGH","tenant":"json-team","metadata":{"source":"json"}}""");
        var id = enqueued.Body.GetProperty("jobId").GetString();
        var job = await SendAsync(http, HttpMethod.Get, $"/v1/audio/jobs/{id}");

        using var watch = await http.GetAsync($"/v1/audio/jobs/{id}:watch", HttpCompletionOption.ResponseHeadersRead, Ct);
        using var snapshots = new StreamReader(await watch.Content.ReadAsStreamAsync(Ct));
        var firstSnapshot = JsonDocument.Parse((await snapshots.ReadLineAsync(Ct))!).RootElement;

        var leased = await SendAsync(http, HttpMethod.Post, "/v1/audio/jobs:lease", """{"workerId":"json-worker","maxJobs":1,"leaseDuration":"60s"}""");
        var lease = leased.Body.GetProperty("jobs")[0];
        var completion = JsonSerializer.Serialize(new { leaseToken = lease.GetProperty("leaseToken").GetString(), result = """{"ok":true}""" });
        var completed = await SendAsync(http, HttpMethod.Post, $"/v1/audio/jobs/{id}:complete", completion);
        // One JSON object per line until the job is final, then the response ends.
        var states = new List<string?>();
        JsonElement last = firstSnapshot;
        while (await snapshots.ReadLineAsync(Ct) is { } line)
        {
            if (line.Length > 0)
            {
                last = JsonDocument.Parse(line).RootElement;
                states.Add(last.GetProperty("state").GetString());
            }
        }

        Assert.Equal(HttpStatusCode.OK, enqueued.Status);
        Assert.Equal(0, enqueued.Body.GetProperty("position").GetInt32());
        Assert.Equal("JOB_STATE_QUEUED", job.Body.GetProperty("state").GetString());
        Assert.Equal("PRIORITY_HIGH", job.Body.GetProperty("priority").GetString());
        Assert.Equal("json", job.Body.GetProperty("metadata").GetProperty("source").GetString());
        Assert.Equal(16, job.Body.GetProperty("audioBytes").GetInt32());
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        Assert.Equal(id, firstSnapshot.GetProperty("id").GetString());
        Assert.Equal("JOB_STATE_QUEUED", firstSnapshot.GetProperty("state").GetString());
        Assert.Equal(id, lease.GetProperty("job").GetProperty("id").GetString());
        Assert.Equal(audio, lease.GetProperty("audio").GetString());
        Assert.Equal(HttpStatusCode.OK, completed.Status);
        Assert.Equal("JOB_STATE_SUCCEEDED", states.Last());
        Assert.Equal("""{"ok":true}""", last.GetProperty("result").GetString());
    }

    [Fact]
    public async Task Queue_full_is_429_with_retry_info_and_quota_failure_and_unknown_jobs_404()
    {
        var http = JsonClient<AudioQueueService>(("AudioQueue:Worker:Enabled", "false"), ("AudioQueue:MaxDepthPerTenant", "1"));
        var job = $$"""{"audio":"{{Convert.ToBase64String("RIFF"u8)}}","contentType":"audio/wav","tenant":"{{Guid.NewGuid()}}"}""";

        var accepted = await SendAsync(http, HttpMethod.Post, "/v1/audio/jobs", job);
        var full = await SendAsync(http, HttpMethod.Post, "/v1/audio/jobs", job);
        var unknown = await SendAsync(http, HttpMethod.Get, $"/v1/audio/jobs/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, full.Status);
        Assert.Equal(8, full.Body.GetProperty("code").GetInt32());
        Assert.True(Seconds(Detail(full.Body, "RetryInfo").GetProperty("retryDelay")) > TimeSpan.Zero);
        Assert.NotEmpty(Detail(full.Body, "QuotaFailure").GetProperty("violations").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal(5, unknown.Body.GetProperty("code").GetInt32());
    }
}

/// <summary>A dependency failure over JSON: 503 with the same ErrorInfo a gRPC caller gets.</summary>
public sealed class JsonTranscodingWithoutRedisTests : HostedTest
{
    [Fact]
    public async Task Cache_write_without_redis_is_503_with_error_info()
    {
        var host = Track(new ServiceHost<CacheService>(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = $"127.0.0.1:{RedisFixture.FreePort()}" }));
        using var http = host.JsonClient();

        using var response = await http.PutAsync("/v1/cache/outage/k",
            new StringContent("""{"value":"aGk=","ttl":"60s"}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(14, body.GetProperty("code").GetInt32());
        Assert.Equal("REDIS_UNAVAILABLE", body.GetProperty("details")[0].GetProperty("reason").GetString());
    }
}
