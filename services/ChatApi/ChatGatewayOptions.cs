namespace Platform.ChatApi;

/// <summary>Configuration section <c>Chat</c>.</summary>
public sealed class ChatGatewayOptions
{
    public const string SectionName = "Chat";

    /// <summary>Callers' keys, "name=key;name=key". Empty: anonymous, limited per client address (development).</summary>
    public string? ApiKeys { get; set; }

    /// <summary>Serve GET /debug/scaling (replica details, policies, cache numbers). On in Development only.</summary>
    public bool ScalingDebug { get; set; }

    /// <summary>Browser origins allowed to call the API from other front ends (CORS), e.g. "https://app.example.com"; "*" for any.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>The simulated model's name, used when no upstream model is configured.</summary>
    public string DefaultModel { get; set; } = "platform-sim-1";

    /// <summary>An OpenAI-compatible provider; when Endpoint and Model are set it answers instead of the simulated model.</summary>
    public UpstreamOptions Upstream { get; set; } = new();

    /// <summary>Voice messages (POST /v1/audio/messages), processed by AudioQueue.</summary>
    public Voice.VoiceOptions Voice { get; set; } = new();

    /// <summary>The one model this gateway serves: the upstream model when configured, else the simulated one.</summary>
    public string ModelName => Upstream.IsConfigured ? Upstream.Model! : DefaultModel;

    /// <summary>RateLimit policy checked once per request.</summary>
    public string RequestsPolicy { get; set; } = "chat";

    /// <summary>RateLimit policy charged with each request's tokens (estimated up front, settled after).</summary>
    public string TokensPolicy { get; set; } = "chat-tokens";

    /// <summary>Completion tokens assumed for the up-front charge when a request sets no max_tokens.</summary>
    public int EstimatedCompletionTokens { get; set; } = 256;

    /// <summary>Largest prompt, in estimated tokens (one per word).</summary>
    public int MaxPromptTokens { get; set; } = 65536;

    /// <summary>Largest max_tokens accepted. MaxPromptTokens + MaxCompletionTokens must fit the tokens policy's burst.</summary>
    public int MaxCompletionTokens { get; set; } = 32768;

    /// <summary>Cache namespace for replies.</summary>
    public string CacheNamespace { get; set; } = "chat";

    /// <summary>How long a reply stays cached.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a request that is asking the model holds the cache lease for its question.</summary>
    public TimeSpan CacheLeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an identical request waits for that answer before asking the model itself.</summary>
    public TimeSpan CacheMaxWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest request body accepted by the HTTP API (413 above it).</summary>
    public long MaxRequestBytes { get; set; } = 1024 * 1024;

    /// <summary>Deadline for each call to RateLimit and Cache; past it the feature degrades.</summary>
    public TimeSpan DependencyTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long RateLimit or Cache may answer nothing at all (only missed deadlines) before it counts as down
    /// and ChatApi degrades (fail open, cache bypass); until then a missed deadline means it is overloaded and
    /// the request is shed with a retry hint.
    /// </summary>
    public TimeSpan DependencyOutageAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Request deadline per route (the seed's per-function timeouts).</summary>
    public RouteTimeoutOptions RouteTimeouts { get; set; } = new();

    /// <summary>Most messages in one conversation.</summary>
    public int MaxMessages { get; set; } = 256;

    /// <summary>The embedded simulated model, used when no upstream provider is configured.</summary>
    public SimulatedModelOptions Simulated { get; set; } = new();
}

/// <summary>
/// How long each kind of HTTP request may take before ChatApi gives up on it and answers 504 (a stream
/// that has started is cut off). Applied by ASP.NET Core's request-timeout middleware; gRPC callers set
/// their own deadline instead.
/// </summary>
public sealed class RouteTimeoutOptions
{
    public const string Chat = "chat", VoiceUpload = "voice-upload", Read = "read";

    /// <summary>POST /v1/chat/completions, streamed or not.</summary>
    public TimeSpan ChatCompletions { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>POST /v1/audio/messages.</summary>
    public TimeSpan VoiceUploads { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>GET /v1/models, a voice message's state and audio, /debug/scaling. (A message's event stream has none: it lasts until the message is final.)</summary>
    public TimeSpan Reads { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class UpstreamOptions
{
    /// <summary>Base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1.</summary>
    public string? Endpoint { get; set; }

    public string? ApiKey { get; set; }

    /// <summary>The provider's model name, e.g. gpt-4o-mini.</summary>
    public string? Model { get; set; }

    /// <summary>Longest wait for the provider's answer.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Endpoint) && !string.IsNullOrWhiteSpace(Model);
}

public sealed class SimulatedModelOptions
{
    /// <summary>Time to answer, like a real model's (the seed measured about 800 ms).</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.FromMilliseconds(800);
}
