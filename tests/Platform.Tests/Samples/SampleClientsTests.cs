using System.Text.Json;
using System.Text.RegularExpressions;
using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Cache.Grpc;
using Platform.Cache.V1;
using Platform.RateLimit.Grpc;
using Platform.RateLimit.V1;
using Platform.Tests.Support;

namespace Platform.Tests.Samples;

/// <summary>
/// The Node.js and Python samples (samples/), run as a developer would run them, against real RateLimit, Cache
/// and AudioQueue services (with the built-in audio worker); then the services are asked whether the calls took
/// effect. Skipped, saying why, where Node.js/npm or Python's grpcio and a protobuf compiler are missing.
/// </summary>
public sealed partial class SampleClientsTests(GarnetFixture redis) : HostedTest, IClassFixture<GarnetFixture>
{
    static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);
    static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    /// <summary>What another team would have: its own key, role user. The checks below use it too, to see that team's data.</summary>
    static readonly TestCredential Team = new("samples", "samples-team", "samples-key-0123456789abcdef", "user");

    [Fact]
    public async Task The_node_sample_checks_a_limit_sets_and_gets_an_entry_and_gets_its_audio_processed()
    {
        var (node, npm) = (ExternalProcess.FindOnPath("node"), ExternalProcess.FindOnPath("npm"));
        Assert.SkipWhen(node is null || npm is null, "Node.js and npm are not on PATH (apt-get install nodejs npm); .ci/run installs them.");
        var folder = Path.Combine(ExternalProcess.RepoRoot, "samples", "node");
        await InstallWhenStaleAsync(npm!, folder);
        var services = StartServices();

        var run = await ExternalProcess.RunAsync(node!, ["sample.js"], folder, services.Environment, RunTimeout);

        await AssertTookEffectAsync(run, services, "hello from the node sample", "node-sample");
    }

    [Fact]
    public async Task The_python_sample_checks_a_limit_sets_and_gets_an_entry_and_gets_its_audio_processed()
    {
        var folder = Path.Combine(ExternalProcess.RepoRoot, "samples", "python");
        var python = await PythonThatGeneratesStubsAsync(folder);
        var services = StartServices();

        var run = await ExternalProcess.RunAsync(python, ["sample.py"], folder, services.Environment, RunTimeout);

        await AssertTookEffectAsync(run, services, "hello from the python sample", "python-sample");
    }

    sealed record Services(
        RateLimiter.RateLimiterClient Limiter, Platform.Cache.V1.Cache.CacheClient Cache,
        Platform.AudioQueue.V1.AudioQueue.AudioQueueClient Queue, IReadOnlyDictionary<string, string?> Environment);

    Services StartServices()
    {
        redis.RequireAvailable();
        var credential = TestCredentials.Settings(Team).ToArray();
        var ratelimit = Start<RateLimiterService>(redis, credential);
        var cache = Start<CacheService>(redis, credential);
        var audioQueue = Start<AudioQueueService>(redis, [.. credential, ("AudioQueue:Worker:Enabled", "true"), ("AudioQueue:Worker:Concurrency", "1")]);
        return new Services(new(ratelimit.Channel(Team)), new(cache.Channel(Team)), new(audioQueue.Channel(Team)), new Dictionary<string, string?>
        {
            ["RATELIMIT_ADDRESS"] = ratelimit.GrpcAddress.ToString(),
            ["CACHE_ADDRESS"] = cache.GrpcAddress.ToString(),
            ["AUDIOQUEUE_ADDRESS"] = audioQueue.GrpcAddress.ToString(),
            // Only ever the test's key, never one inherited from the machine.
            ["PLATFORM_API_KEY"] = Team.Key,
            ["RATELIMIT_POLICY"] = null,
            ["CACHE_NAMESPACE"] = null,
        });
    }

    async Task AssertTookEffectAsync(ProcessRun run, Services services, string value, string source)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        var checkedKey = Match(run, CheckLine()).Groups["key"].Value;
        var cachedKey = Match(run, SetLine()).Groups["key"].Value;
        Assert.Equal(value, Match(run, GetLine()).Groups["value"].Value);
        var jobId = Match(run, EnqueueLine()).Groups["job"].Value;
        Assert.Equal(jobId, Match(run, SucceededLine()).Groups["job"].Value);
        Assert.Equal("done: all calls succeeded", run.Lines[^1]);

        // The check consumed one unit of the sample's key: a check that consumes nothing sees it.
        var usage = await services.Limiter.CheckAsync(new CheckRequest { Policy = "chat", Key = checkedKey, Cost = 0 });
        Assert.Equal(usage.Limit - 1, usage.Remaining);

        var entry = await services.Cache.GetAsync(new GetRequest { Namespace = "samples", Key = cachedKey });
        Assert.True(entry.Found, $"The sample's entry samples/{cachedKey} is not in the cache.");
        Assert.Equal(value, entry.Value.ToStringUtf8());
        Assert.Equal(["samples"], entry.Tags);

        var job = await services.Queue.GetJobAsync(new GetJobRequest { JobId = jobId });
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal(("samples-team", "samples", source), (job.Team, job.Tenant, job.Metadata["source"]));
        var result = JsonDocument.Parse(job.Result).RootElement;
        Assert.Equal(0.5, result.GetProperty("duration_seconds").GetDouble(), 2);
        Assert.Equal((16_000, 1), (result.GetProperty("sample_rate_in").GetInt32(), result.GetProperty("channels_in").GetInt32()));
    }

    static Match Match(ProcessRun run, Regex line) =>
        run.Lines.Select(l => line.Match(l)).FirstOrDefault(m => m.Success)
        ?? throw new Xunit.Sdk.XunitException($"No line matches /{line}/ in the sample's output: {run}");

    [GeneratedRegex(@"^ratelimit: Check policy=chat key=(?<key>\S+) allowed=true remaining=\d+ limit=\d+")]
    private static partial Regex CheckLine();

    [GeneratedRegex(@"^cache: Set namespace=samples key=(?<key>\S+)")]
    private static partial Regex SetLine();

    [GeneratedRegex(@"^cache: Get namespace=samples key=\S+ found=true value=""(?<value>[^""]*)""")]
    private static partial Regex GetLine();

    [GeneratedRegex(@"^audioqueue: Enqueue job=(?<job>\S+)")]
    private static partial Regex EnqueueLine();

    [GeneratedRegex(@"^audioqueue: job=(?<job>\S+) state=JOB_STATE_SUCCEEDED result=\{")]
    private static partial Regex SucceededLine();

    /// <summary>`npm ci` when node_modules is missing or older than package-lock.json.</summary>
    static async Task InstallWhenStaleAsync(string npm, string folder)
    {
        var installed = Path.Combine(folder, "node_modules", ".package-lock.json");
        var locked = Path.Combine(folder, "package-lock.json");
        if (File.Exists(installed) && File.GetLastWriteTimeUtc(installed) >= File.GetLastWriteTimeUtc(locked))
        {
            return;
        }
        var install = await ExternalProcess.RunAsync(npm, ["ci", "--no-audit", "--no-fund"], folder, new Dictionary<string, string?>(), InstallTimeout);
        Assert.True(install.ExitCode == 0, install.ToString());
    }

    /// <summary>
    /// Debian's python3 (python3-grpcio) first, then whichever python3 is on PATH; the first that generates the
    /// stubs (samples/python/generate.py) runs the sample. Skips when none can: generate.py exits 2 saying what is missing.
    /// </summary>
    static async Task<string> PythonThatGeneratesStubsAsync(string folder)
    {
        var reasons = new List<string>();
        foreach (var python in new[] { "/usr/bin/python3", ExternalProcess.FindOnPath("python3") }.OfType<string>().Where(File.Exists).Distinct())
        {
            var generate = await ExternalProcess.RunAsync(python, ["generate.py"], folder, new Dictionary<string, string?>(), RunTimeout);
            if (generate.ExitCode == 0)
            {
                return python;
            }
            Assert.True(generate.ExitCode == 2, generate.ToString());
            reasons.Add($"{python}: {generate.Stderr.Trim()}");
        }
        Assert.Skip("No Python here can run the sample (.ci/run installs python3-grpcio, protobuf-compiler and protobuf-compiler-grpc). "
            + (reasons.Count == 0 ? "No python3 found." : string.Join(" | ", reasons)));
        return null!;
    }
}
