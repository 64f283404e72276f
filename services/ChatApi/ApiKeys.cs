using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Platform.ChatApi;

/// <summary>
/// Callers' API keys from <c>Chat:ApiKeys</c> ("name=key;name=key"). With none configured the API is
/// anonymous (development) and limits apply per client address. Keys are kept only as SHA-256 hashes and
/// compared in constant time; neither keys nor hashes are ever logged.
/// </summary>
public sealed partial class ApiKeys
{
    readonly IOptionsMonitor<ChatGatewayOptions> options;
    volatile IReadOnlyList<(string Name, byte[] Hash)> keys;

    public ApiKeys(IOptionsMonitor<ChatGatewayOptions> options, ILogger<ApiKeys> logger)
    {
        this.options = options;
        keys = Parse(options.CurrentValue.ApiKeys);
        options.OnChange(settings => keys = Parse(settings.ApiKeys));
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
        if (!Required)
        {
            return "addr:" + (clientAddress ?? "unknown");
        }
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization["Bearer ".Length..].Trim()));
        string? match = null;
        foreach (var (name, hash) in keys)
        {
            // Every key is compared, each in constant time, so timing says nothing about which one is close.
            if (CryptographicOperations.FixedTimeEquals(presented, hash))
            {
                match = name;
            }
        }
        return match is null ? null : "key:" + match;
    }

    static IReadOnlyList<(string, byte[])> Parse(string? configured) =>
        (configured ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair is [{ Length: > 0 }, { Length: > 0 }])
            .Select(pair => (pair[0], SHA256.HashData(Encoding.UTF8.GetBytes(pair[1]))))
            .ToList();

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API keys configured (Chat:ApiKeys): the chat API is anonymous and limited per client address. Configure keys for production.")]
    static partial void LogAnonymous(ILogger logger);
}
