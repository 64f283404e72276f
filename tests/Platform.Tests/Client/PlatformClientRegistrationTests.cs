using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.Tests.Support;
using AudioQueueClient = Platform.AudioQueue.V1.AudioQueue.AudioQueueClient;
using CacheClient = Platform.Cache.V1.Cache.CacheClient;

namespace Platform.Tests.Client;

public sealed class PlatformClientRegistrationTestsOnRedis(RedisServerFixture redis) : PlatformClientRegistrationTests(redis), IClassFixture<RedisServerFixture>;
public sealed class PlatformClientRegistrationTestsOnGarnet(GarnetFixture redis) : PlatformClientRegistrationTests(redis), IClassFixture<GarnetFixture>;

/// <summary>AddPlatformClients against the real services: addresses, credentials and deadlines as the servers see them.</summary>
public abstract class PlatformClientRegistrationTests(RedisFixture redis) : HostedTest
{
    const string CheckPath = "/platform.ratelimit.v1.RateLimiter/Check";
    const string ListPoliciesPath = "/platform.ratelimit.v1.RateLimiter/ListPolicies";
    const string GetPath = "/platform.cache.v1.Cache/Get";
    const string LookupPath = "/platform.cache.v1.Cache/Lookup";
    const string WatchJobPath = "/platform.audioqueue.v1.AudioQueue/WatchJob";
    const string LeasePath = "/platform.audioqueue.v1.AudioWorker/Lease";

    /// <summary>A team's credential the services also accept, beside the default test one.</summary>
    static readonly TestCredential Team = new("client-team", "client-team", "team-key-1-0123456789", "user");

    string StartService<TService>(ReceivedCalls? received = null) where TService : class =>
        (received is null ? Start<TService>(redis) : Start<TService>(redis, ReceivedCalls.RecordInto(received), [.. TestCredentials.Settings(Team)])).GrpcAddress.ToString();

    static Dictionary<string, string?> Discovered(string rateLimit, string cache, string audioQueue) => new()
    {
        ["services:ratelimit:http:0"] = rateLimit,
        ["services:cache:http:0"] = cache,
        ["services:audioqueue:http:0"] = audioQueue,
    };

    [Fact]
    public async Task Typed_clients_resolve_and_reach_the_services_found_by_service_discovery()
    {
        var audioQueue = Start<AudioQueueService>(redis, ("AudioQueue:Worker:Enabled", "false")).GrpcAddress.ToString();
        var clients = Track(ClientContainer.Build(Discovered(StartService<RateLimiterService>(), StartService<CacheService>(), audioQueue)));

        var policies = await clients.GetRequiredService<RateLimiter.RateLimiterClient>().ListPoliciesAsync(new ListPoliciesRequest());
        var entry = await clients.GetRequiredService<CacheClient>().GetAsync(new GetRequest { Namespace = "client-tests", Key = Guid.NewGuid().ToString() });
        var stats = await clients.GetRequiredService<AudioQueueClient>().GetStatsAsync(new Platform.AudioQueue.V1.GetStatsRequest());
        var leased = await clients.GetRequiredService<AudioWorker.AudioWorkerClient>().LeaseAsync(new LeaseRequest { WorkerId = "client-tests" });

        Assert.Contains(policies.Policies, p => p.Name == "chat");
        Assert.False(entry.Found);
        Assert.True(stats.MaxConcurrency > 0);
        Assert.Empty(leased.Jobs);
    }

    [Fact]
    public async Task A_plain_url_replaces_the_discovered_address_and_the_callback_wins_over_configuration()
    {
        var cache = StartService<CacheService>();
        var nowhere = $"http://127.0.0.1:{RedisFixture.FreePort()}";
        var fromConfiguration = Track(ClientContainer.Build(new Dictionary<string, string?>
        {
            ["services:cache:http:0"] = nowhere,
            ["Platform:Clients:Cache:Address"] = cache,
        }));
        var fromCallback = Track(ClientContainer.Build(new Dictionary<string, string?> { ["Platform:Clients:Cache:Address"] = nowhere },
            options => options.Cache.Address = new Uri(cache)));
        var request = new GetRequest { Namespace = "client-tests", Key = "k" };

        Assert.False((await fromConfiguration.GetRequiredService<CacheClient>().GetAsync(request)).Found);
        Assert.False((await fromCallback.GetRequiredService<CacheClient>().GetAsync(request)).Found);
    }

    [Fact]
    public async Task The_api_key_reaches_the_server_on_every_call_as_a_bearer_authorization()
    {
        var received = new ReceivedCalls();
        var rateLimit = StartService<RateLimiterService>(received);
        var audioQueue = Start<AudioQueueService>(redis, ReceivedCalls.RecordInto(received), [.. TestCredentials.Settings(Team), ("AudioQueue:Worker:Enabled", "false")]).GrpcAddress.ToString();
        var withKey = Track(ClientContainer.Build(new Dictionary<string, string?>
        {
            ["Platform:Clients:RateLimit:Address"] = rateLimit,
            ["Platform:Clients:AudioQueue:Address"] = audioQueue,
            ["Platform:Clients:ApiKey"] = Team.Key,
        }));
        var withoutKey = Track(ClientContainer.Build(new Dictionary<string, string?> { ["Platform:Clients:RateLimit:Address"] = rateLimit, ["Platform:Clients:ApiKey"] = "" }));

        var limiter = withKey.GetRequiredService<RateLimiter.RateLimiterClient>();
        await limiter.ListPoliciesAsync(new ListPoliciesRequest());
        await limiter.CheckAsync(new CheckRequest { Policy = "chat", Key = Guid.NewGuid().ToString() });
        var (watchCode, _) = await Rpc.FailureOf(async () =>
        {
            using var watch = withKey.GetRequiredService<AudioQueueClient>().WatchJob(new GetJobRequest { JobId = Guid.NewGuid().ToString() });
            await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken);
        });
        var (refused, _) = await Rpc.FailureOf(() => withoutKey.GetRequiredService<RateLimiter.RateLimiterClient>().CheckAsync(new CheckRequest { Policy = "chat", Key = Guid.NewGuid().ToString() }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused);

        Assert.Equal(StatusCode.NotFound, watchCode);
        Assert.Equal("Bearer " + Team.Key, Assert.Single(received.To(ListPoliciesPath)).Authorization);
        Assert.Equal(["Bearer " + Team.Key, null], received.To(CheckPath).Select(c => c.Authorization));
        Assert.Equal("Bearer " + Team.Key, Assert.Single(received.To(WatchJobPath)).Authorization);
    }

    [Fact]
    public async Task A_rotated_api_key_in_reloaded_configuration_is_sent_from_the_next_call()
    {
        var received = new ReceivedCalls();
        var rateLimit = StartService<RateLimiterService>(received);
        var clients = Track(ClientContainer.Build(new Dictionary<string, string?>
        {
            ["Platform:Clients:RateLimit:Address"] = rateLimit,
            ["Platform:Clients:ApiKey"] = TestCredentials.Tests.Key,
        }));
        var limiter = clients.GetRequiredService<RateLimiter.RateLimiterClient>();
        await limiter.ListPoliciesAsync(new ListPoliciesRequest());

        var configuration = (IConfigurationRoot)clients.GetRequiredService<IConfiguration>();
        configuration["Platform:Clients:ApiKey"] = Team.Key;
        configuration.Reload();
        await limiter.ListPoliciesAsync(new ListPoliciesRequest());

        Assert.Equal(["Bearer " + TestCredentials.Tests.Key, "Bearer " + Team.Key], received.To(ListPoliciesPath).Select(c => c.Authorization));
    }

    [Fact]
    public async Task Unary_calls_without_a_deadline_get_the_default_plus_the_wait_they_ask_for_and_streams_get_none()
    {
        var received = new ReceivedCalls();
        var audioQueue = Start<AudioQueueService>(redis, ReceivedCalls.RecordInto(received), ("AudioQueue:Worker:Enabled", "false")).GrpcAddress.ToString();
        var clients = Track(ClientContainer.Build(
            Discovered(StartService<RateLimiterService>(received), StartService<CacheService>(received), audioQueue),
            options =>
            {
                options.DefaultDeadline = TimeSpan.FromSeconds(20);
                options.Cache.DefaultDeadline = TimeSpan.FromSeconds(30);
            }));
        var limiter = clients.GetRequiredService<RateLimiter.RateLimiterClient>();
        var cache = clients.GetRequiredService<CacheClient>();
        var check = new CheckRequest { Policy = "chat", Key = Guid.NewGuid().ToString() };

        await limiter.CheckAsync(check);
        await limiter.CheckAsync(check, deadline: DateTime.UtcNow.AddSeconds(100));
        await limiter.CheckAsync(check, deadline: DateTime.MaxValue);
        await cache.GetAsync(new GetRequest { Namespace = "client-tests", Key = "k" });
        await cache.LookupAsync(new LookupRequest { Namespace = "client-tests", Key = Guid.NewGuid().ToString() });
        await cache.LookupAsync(new LookupRequest { Namespace = "client-tests", Key = Guid.NewGuid().ToString(), MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(25)) });
        await clients.GetRequiredService<AudioWorker.AudioWorkerClient>().LeaseAsync(
            new LeaseRequest { WorkerId = "client-tests", MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) });
        await Rpc.FailureOf(async () =>
        {
            using var watch = clients.GetRequiredService<AudioQueueClient>().WatchJob(new GetJobRequest { JobId = Guid.NewGuid().ToString() });
            await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken);
        });

        // What the servers were told (grpc-timeout): at most the deadline set, less the time it took to send.
        var checks = received.To(CheckPath).Select(c => c.Timeout).ToList();
        AssertWithin(TimeSpan.FromSeconds(20), checks[0]);
        AssertWithin(TimeSpan.FromSeconds(100), checks[1]);
        Assert.Null(checks[2]);
        AssertWithin(TimeSpan.FromSeconds(30), Assert.Single(received.To(GetPath)).Timeout);
        var lookups = received.To(LookupPath).Select(c => c.Timeout).ToList();
        AssertWithin(TimeSpan.FromSeconds(30 + 10), lookups[0]); // max_wait unset: the server waits up to 10 s
        AssertWithin(TimeSpan.FromSeconds(30 + 25), lookups[1]);
        AssertWithin(TimeSpan.FromSeconds(20 + 1), Assert.Single(received.To(LeasePath)).Timeout);
        Assert.Null(Assert.Single(received.To(WatchJobPath)).Timeout);
    }

    [Fact]
    public async Task A_long_lookup_outlives_an_application_wide_standard_resilience_handler()
    {
        var cache = StartService<CacheService>();
        var ns = "resilience-" + Guid.NewGuid().ToString("N")[..8];
        var key = Guid.NewGuid().ToString();
        // What Aspire's ServiceDefaults template does for every HttpClient, with timeouts far shorter than the wait below.
        var clients = Track(ClientContainer.Build(new Dictionary<string, string?> { ["services:cache:http:0"] = cache },
            application: services => services.ConfigureHttpClientDefaults(http =>
            {
                http.AddStandardResilienceHandler(o =>
                {
                    o.AttemptTimeout.Timeout = TimeSpan.FromMilliseconds(50);
                    o.TotalRequestTimeout.Timeout = TimeSpan.FromMilliseconds(100);
                    o.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(1);
                });
                http.AddServiceDiscovery();
            })));
        var client = clients.GetRequiredService<CacheClient>();
        var holder = await client.LookupAsync(new LookupRequest { Namespace = ns, Key = key });

        var waiting = client.LookupAsync(new LookupRequest { Namespace = ns, Key = key, MaxWait = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)) }).ResponseAsync;
        // Stats fold into Redis every second: once the wait shows there, it has outlived both timeouts.
        Assert.True(await Eventually.TrueAsync(async () => (await client.GetStatsAsync(new Platform.Cache.V1.GetStatsRequest { Namespace = ns })).LeaseWaits > 0));
        await client.FillAsync(new FillRequest { Namespace = ns, Key = key, Token = holder.Lease.Token, Value = Google.Protobuf.ByteString.CopyFromUtf8("v"), Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)) });
        var hit = await waiting;

        Assert.Equal("v", hit.Hit.Value.ToStringUtf8());
        Assert.True(hit.Hit.Waited);
    }

    static void AssertWithin(TimeSpan deadline, TimeSpan? timeout)
    {
        Assert.NotNull(timeout);
        Assert.InRange(timeout.Value, deadline - TimeSpan.FromSeconds(5), deadline);
    }
}

public sealed class PlatformClientOptionsTests
{
    [Fact]
    public void Invalid_settings_fail_when_a_client_is_created_naming_each_setting()
    {
        using var clients = ClientContainer.Build(new Dictionary<string, string?>
        {
            ["Platform:Clients:DefaultDeadline"] = "-00:00:05",
            ["Platform:Clients:Cache:Address"] = "/relative",
            ["Platform:Clients:ResourceExhaustedRetry:MaxAttempts"] = "0",
        });

        var e = Assert.Throws<OptionsValidationException>(() => clients.GetRequiredService<CacheClient>());

        Assert.Equal(
            ["Platform:Clients:DefaultDeadline", "Platform:Clients:Cache:Address", "Platform:Clients:ResourceExhaustedRetry:MaxAttempts"],
            e.Failures.Select(f => f[..f.IndexOf(' ')]));
    }

    [Fact]
    public void Defaults_address_the_services_by_their_aspire_names()
    {
        using var clients = ClientContainer.Build(new Dictionary<string, string?>());

        var options = clients.GetRequiredService<IOptions<Platform.Client.PlatformClientOptions>>().Value;

        Assert.Equal(["http://ratelimit/", "http://cache/", "http://audioqueue/"],
            new[] { options.RateLimit.Address, options.Cache.Address, options.AudioQueue.Address }.Select(a => a.ToString()));
        Assert.Equal(TimeSpan.FromSeconds(10), options.DefaultDeadline);
        Assert.All(new[] { options.RateLimit, options.Cache, options.AudioQueue }, s => Assert.False(s.RetryResourceExhausted));
    }
}
