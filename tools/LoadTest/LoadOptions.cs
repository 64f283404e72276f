using System.Globalization;

namespace Platform.LoadTest;

/// <summary>What to run and against what. Parse reports every bad option at once, naming it and its limit.</summary>
public sealed record LoadOptions
{
    public static readonly string[] Scenarios = ["chat", "voice", "mixed", "surge", "ratelimit", "cache", "queue"];

    public required string Scenario { get; init; }
    /// <summary>Simulated users (chat, voice, mixed).</summary>
    public int Users { get; init; } = 100;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Users start evenly spread over this time.</summary>
    public TimeSpan RampUp { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Each user's pause between messages, ±50 % jitter.</summary>
    public TimeSpan ThinkTime { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Fixed request rate (service scenarios); null runs a closed loop of Concurrency callers.</summary>
    public double? Rate { get; init; }
    public int Concurrency { get; init; } = 32;
    /// <summary>Share of chat messages that repeat one of a few popular questions (so the cache matters).</summary>
    public double PopularShare { get; init; } = 0.3;
    /// <summary>Share of chat messages sent with stream: true.</summary>
    public double StreamShare { get; init; } = 0.2;
    /// <summary>Surge: users present the whole run (the rest, up to <see cref="Users"/>, come for the surge only); default half.</summary>
    public int? BaseUsers { get; init; }
    /// <summary>Surge: when the extra users arrive (over <see cref="SurgeRamp"/>), and how long they stay.</summary>
    public TimeSpan SurgeAt { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan SurgeFor { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan SurgeRamp { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Share of users in the mixed scenario who send voice messages instead of text.</summary>
    public double VoiceShare { get; init; } = 0.1;
    public Uri ChatUrl { get; init; } = new("http://localhost:5080");
    public Uri ChatGrpcUrl { get; init; } = new("http://localhost:5081");
    public Uri RateLimitUrl { get; init; } = new("http://localhost:5101");
    public Uri CacheUrl { get; init; } = new("http://localhost:5102");
    public Uri QueueUrl { get; init; } = new("http://localhost:5103");
    /// <summary>Redis for the raw-Redis baseline (host:port); none skips that baseline.</summary>
    public string? Redis { get; init; }
    /// <summary>ChatApi's key for callers (Chat:ApiKeys).</summary>
    public string? ApiKey { get; init; }
    /// <summary>The key sent to RateLimit, Cache and AudioQueue (their Auth:Credentials); by default $PLATFORM_API_KEY.</summary>
    public string? PlatformKey { get; init; }
    /// <summary>Also run the same load against a no-op gRPC call (and raw Redis), for ratios from the same run.</summary>
    public bool Baseline { get; init; }
    /// <summary>Processes whose memory (RSS) is sampled during the run, by name.</summary>
    public string[] Processes { get; init; } = ["ChatApi", "RateLimit", "Cache", "AudioQueue"];
    public string? ReportPath { get; init; }
    public bool Live { get; init; } = true;

    public bool IsUserScenario => Scenario is "chat" or "voice" or "mixed" or "surge";

    public int SurgeBaseUsers => BaseUsers ?? Math.Max(1, Users / 2);

    public static (LoadOptions? Options, IReadOnlyList<string> Problems) Parse(IReadOnlyList<string> args)
    {
        var problems = new List<string>();
        if (args.Count == 0 || !Scenarios.Contains(args[0]))
        {
            return (null, [$"scenario: the first argument must be one of {string.Join(", ", Scenarios)}"]);
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "--baseline" or "--no-live")
            {
                flags.Add(name);
            }
            else if (name.StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Count && KnownValues.Contains(name))
            {
                values[name] = args[++i];
            }
            else
            {
                problems.Add($"{name}: unknown option (or missing its value); options: {string.Join(", ", KnownValues)}, --baseline, --no-live");
            }
        }

        // Each option: absent → the record's default; present → parsed and range-checked, or a problem naming it.
        T Value<T>(string name, T fallback, Func<string, (bool Ok, T Value)> parse, string rule)
        {
            if (!values.TryGetValue(name, out var raw))
            {
                return fallback;
            }
            if (parse(raw) is (true, var value))
            {
                return value;
            }
            problems.Add($"{name}: must be {rule} (got '{raw}')");
            return fallback;
        }
        (bool, double) Number(string raw, Func<double, bool> valid) =>
            double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && valid(v) ? (true, v) : (false, 0);
        int Int(string name, int fallback, int min, int max) => Value(name, fallback,
            raw => (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max, v),
            $"a whole number from {min} to {max}");
        double Share(string name, double fallback) => Value(name, fallback, raw => Number(raw, v => v is >= 0 and <= 1), "a share from 0 to 1");
        TimeSpan Time(string name, TimeSpan fallback, TimeSpan min, TimeSpan max) => Value(name, fallback,
            raw => ParseDuration(raw) is { } v && v >= min && v <= max ? (true, v) : (false, default),
            $"a duration like 500ms, 30s, 5m or 1h, from {Describe(min)} to {Describe(max)}");
        Uri Url(string name, Uri fallback) => Value(name, fallback,
            raw => Uri.TryCreate(raw, UriKind.Absolute, out var v) && v.Scheme is "http" or "https" ? (true, v) : (false, fallback),
            "an http:// or https:// URL");

        var defaults = new LoadOptions { Scenario = args[0] };
        var rate = values.ContainsKey("--rate")
            ? Value("--rate", 0.0, raw => Number(raw, v => v is > 0 and <= 1_000_000), "requests per second above 0, at most 1000000")
            : (double?)null;
        var options = defaults with
        {
            Users = Int("--users", defaults.Users, 1, 100_000),
            Duration = Time("--duration", defaults.Duration, TimeSpan.FromSeconds(1), TimeSpan.FromHours(24)),
            RampUp = Time("--ramp-up", defaults.RampUp, TimeSpan.Zero, TimeSpan.FromHours(1)),
            ThinkTime = Time("--think-time", defaults.ThinkTime, TimeSpan.Zero, TimeSpan.FromHours(1)),
            Rate = rate,
            Concurrency = Int("--concurrency", defaults.Concurrency, 1, 10_000),
            PopularShare = Share("--popular-share", defaults.PopularShare),
            StreamShare = Share("--stream-share", defaults.StreamShare),
            VoiceShare = Share("--voice-share", defaults.VoiceShare),
            BaseUsers = values.ContainsKey("--base-users") ? Int("--base-users", 1, 1, 100_000) : null,
            SurgeAt = Time("--surge-at", defaults.SurgeAt, TimeSpan.Zero, TimeSpan.FromHours(1)),
            SurgeFor = Time("--surge-for", defaults.SurgeFor, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)),
            SurgeRamp = Time("--surge-ramp", defaults.SurgeRamp, TimeSpan.Zero, TimeSpan.FromMinutes(10)),
            ChatUrl = Url("--chat-url", defaults.ChatUrl),
            ChatGrpcUrl = Url("--chat-grpc-url", defaults.ChatGrpcUrl),
            RateLimitUrl = Url("--ratelimit-url", defaults.RateLimitUrl),
            CacheUrl = Url("--cache-url", defaults.CacheUrl),
            QueueUrl = Url("--queue-url", defaults.QueueUrl),
            Redis = values.GetValueOrDefault("--redis"),
            ApiKey = values.GetValueOrDefault("--api-key"),
            PlatformKey = values.GetValueOrDefault("--platform-key") ?? Environment.GetEnvironmentVariable("PLATFORM_API_KEY"),
            Baseline = flags.Contains("--baseline"),
            Processes = values.TryGetValue("--processes", out var processes) ? processes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : defaults.Processes,
            ReportPath = values.GetValueOrDefault("--report"),
            Live = !flags.Contains("--no-live"),
        };
        if (!values.ContainsKey("--ramp-up") && options.RampUp > options.Duration)
        {
            options = options with { RampUp = options.Duration / 2 }; // a short run keeps half of it for full load
        }
        if (options.Scenario == "surge" && options.SurgeBaseUsers > options.Users)
        {
            problems.Add($"--base-users: must not be more than --users ({options.Users}), the users at the surge's peak");
        }
        if (options.Scenario == "surge" && options.SurgeAt + options.SurgeFor > options.Duration)
        {
            problems.Add($"--surge-for: the surge (--surge-at + --surge-for) must end within --duration ({Describe(options.Duration)}), to see the recovery");
        }
        if (options.IsUserScenario && rate is not null)
        {
            problems.Add("--rate: not for chat, voice or mixed, whose users pace themselves (--users, --think-time)");
        }
        if (options.IsUserScenario && values.ContainsKey("--ramp-up") && options.RampUp > options.Duration)
        {
            problems.Add($"--ramp-up: must not be longer than --duration ({Describe(options.Duration)})");
        }
        return problems.Count == 0 ? (options, []) : (null, problems);
    }

    static readonly string[] KnownValues =
    [
        "--users", "--duration", "--ramp-up", "--think-time", "--rate", "--concurrency", "--popular-share", "--stream-share",
        "--voice-share", "--base-users", "--surge-at", "--surge-for", "--surge-ramp", "--chat-url", "--chat-grpc-url", "--ratelimit-url", "--cache-url", "--queue-url", "--redis", "--api-key", "--platform-key",
        "--processes", "--report",
    ];

    /// <summary>500ms, 30s, 5m, 1h, or a TimeSpan (00:00:30).</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount >= 0)
            {
                return TimeSpan.FromSeconds(amount * scale);
            }
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    static string Describe(TimeSpan span) => span.TotalSeconds < 60 ? $"{span.TotalSeconds:0.###}s" : span.TotalMinutes < 60 ? $"{span.TotalMinutes:0.##}m" : $"{span.TotalHours:0.##}h";
}
