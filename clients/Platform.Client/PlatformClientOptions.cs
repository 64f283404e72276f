namespace Platform.Client;

/// <summary>
/// Settings of the Platform gRPC clients, bound from the configuration section
/// <c>Platform:Clients</c> and then adjusted by the callback given to
/// <c>AddPlatformClients</c> (the callback wins).
/// </summary>
/// <example>
/// <code>
/// "Platform": {
///   "Clients": {
///     "ApiKey": "...",
///     "DefaultDeadline": "00:00:05",
///     "RateLimit": { "Address": "http://127.0.0.1:5201", "DefaultDeadline": "00:00:01" },
///     "AudioQueue": { "RetryResourceExhausted": true }
///   }
/// }
/// </code>
/// </example>
public sealed class PlatformClientOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "Platform:Clients";

    /// <summary>
    /// Sent on every call as the metadata <c>authorization: Bearer &lt;key&gt;</c>. Empty: no header.
    /// Read on each call, so a reloaded configuration takes effect without recreating clients.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Deadline of a unary call whose caller set none (10 s). A request that asks the server to wait
    /// (Cache <c>Lookup</c> max_wait, AudioWorker <c>Lease</c> max_wait) gets that wait on top.
    /// Streaming calls (<c>WatchJob</c>) get no default deadline: they end when the job is final or
    /// the caller cancels. <see cref="Timeout.InfiniteTimeSpan"/> turns the default off.
    /// A caller opts one call out by passing <c>deadline: DateTime.MaxValue</c>.
    /// </summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The RateLimit service (client <c>RateLimiter.RateLimiterClient</c>).</summary>
    public PlatformServiceOptions RateLimit { get; } = new(new Uri("http://ratelimit"));

    /// <summary>The Cache service (client <c>Cache.CacheClient</c>).</summary>
    public PlatformServiceOptions Cache { get; } = new(new Uri("http://cache"));

    /// <summary>The AudioQueue service (clients <c>AudioQueue.AudioQueueClient</c> and <c>AudioWorker.AudioWorkerClient</c>).</summary>
    public PlatformServiceOptions AudioQueue { get; } = new(new Uri("http://audioqueue"))
    {
        // A Lease of one job or a GetOutput carries up to AudioQueue:MaxAudioBytes (10 MiB) of audio.
        MaxReceiveMessageSize = 11 * 1024 * 1024,
    };

    /// <summary>How the opt-in retry of RESOURCE_EXHAUSTED behaves (see <see cref="PlatformServiceOptions.RetryResourceExhausted"/>).</summary>
    public ResourceExhaustedRetryOptions ResourceExhaustedRetry { get; } = new();
}

/// <summary>Settings of the client(s) of one Platform service.</summary>
public sealed class PlatformServiceOptions
{
    /// <summary>Creates the settings with a default address.</summary>
    public PlatformServiceOptions(Uri address) => Address = address;

    /// <summary>
    /// Where the service is. The default is its Aspire resource name (<c>http://ratelimit</c>,
    /// <c>http://cache</c>, <c>http://audioqueue</c>), resolved through service discovery
    /// (<c>services:ratelimit:http:0</c>, set by the AppHost's <c>WithReference</c>). A plain URL such as
    /// <c>http://10.0.0.5:5201</c> is used as it is.
    /// </summary>
    public Uri Address { get; set; }

    /// <summary>Overrides <see cref="PlatformClientOptions.DefaultDeadline"/> for this service.</summary>
    public TimeSpan? DefaultDeadline { get; set; }

    /// <summary>
    /// Opt in: unary calls that fail with RESOURCE_EXHAUSTED carrying a google.rpc.RetryInfo are tried
    /// again after its retry_delay (see <see cref="PlatformClientOptions.ResourceExhaustedRetry"/>).
    /// Off by default, because the caller usually knows better than to wait (e.g. an interactive request
    /// that should answer 429 at once).
    /// </summary>
    public bool RetryResourceExhausted { get; set; }

    /// <summary>Largest response message accepted, in bytes; unset: gRPC's default (4 MiB).</summary>
    public int? MaxReceiveMessageSize { get; set; }
}

/// <summary>The opt-in retry of RESOURCE_EXHAUSTED + google.rpc.RetryInfo.</summary>
public sealed class ResourceExhaustedRetryOptions
{
    /// <summary>Attempts in all, the first included (3). At least 2 for any retry to happen.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// The longest wait between attempts (30 s); a longer retry_delay is cut to this. A wait that would
    /// end past the call's deadline is not started: the call fails with the server's RESOURCE_EXHAUSTED.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);
}
