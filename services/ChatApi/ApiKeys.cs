using Microsoft.Extensions.Options;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;

namespace Platform.ChatApi;

/// <summary>
/// Callers' API keys from <c>Chat:ApiKeys</c> ("name=key;name=key"). With none configured the API is
/// anonymous (development) and limits apply per client address. Keys are kept only as SHA-256 hashes and
/// compared in constant time (<see cref="ApiKeyHash"/>); neither keys nor hashes are ever logged.
/// </summary>
public sealed partial class ApiKeys
{
    const string WarmUpIdentity = "warm-up";

    /// <summary>A key: its hash, and the rate-limit identity it gives ("key:" + name, built once; null for the warm-up's).</summary>
    sealed record Key(string? Identity, byte[] Hash);

    readonly Key warmUp;
    volatile IReadOnlyList<Key> keys;
    /// <summary>The configured keys and this process's own warm-up key, searched together: one hash per request.</summary>
    volatile IReadOnlyList<Key> known;

    public ApiKeys(IOptionsMonitor<ChatGatewayOptions> options, WarmUpCredential warmUpCredential, ILogger<ApiKeys> logger)
    {
        warmUp = new Key(null, ApiKeyHash.Of(warmUpCredential.Key));
        (keys, known) = Load(options.CurrentValue.ApiKeys);
        options.OnChange(settings => (keys, known) = Load(settings.ApiKeys));
        if (keys.Count == 0)
        {
            LogAnonymous(logger);
        }
    }

    public bool Required => keys.Count > 0;

    /// <summary>The rate-limit identity of an HTTP request (see the other overload); null when it needs a key and has none that is valid.</summary>
    public string? Identify(HttpContext http) =>
        Identify(http.Request.Headers.Authorization, http.Connection.RemoteIpAddress?.ToString());

    /// <summary>The rate-limit identity of a request: the key's name, or the client address when keys are not required.</summary>
    /// <returns>Null when a key is required and <paramref name="authorization"/> carries no valid one.</returns>
    public string? Identify(string? authorization, string? clientAddress)
    {
        var match = authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? ApiKeyHash.Find(authorization.AsSpan("Bearer ".Length).Trim(), known, static k => k.Hash)
            : null;
        if (match == warmUp)
        {
            // This process's own warm-up: a caller of its own each time, so no real caller's limit is touched.
            return WarmUpIdentity + ":" + Guid.NewGuid().ToString("N");
        }
        if (!Required)
        {
            return "addr:" + (clientAddress ?? "unknown");
        }
        return match?.Identity;
    }

    (IReadOnlyList<Key>, IReadOnlyList<Key>) Load(string? configured)
    {
        var parsed = Parse(configured);
        return (parsed, [.. parsed, warmUp]);
    }

    static IReadOnlyList<Key> Parse(string? configured) =>
        (configured ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair is [{ Length: > 0 }, { Length: > 0 }])
            .Select(pair => new Key("key:" + pair[0], ApiKeyHash.Of(pair[1])))
            .ToList();

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API keys configured (Chat:ApiKeys): the chat API is anonymous and limited per client address. Configure keys for production.")]
    static partial void LogAnonymous(ILogger logger);
}
