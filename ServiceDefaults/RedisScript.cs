using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Platform.ServiceDefaults;

/// <summary>
/// A Lua script shipped as an embedded <c>.lua</c> resource, called by its SHA-1 (EVALSHA): the text
/// crosses the wire only when the server does not know it yet (first call, or after a restart: NOSCRIPT).
/// </summary>
/// <remarks>
/// StackExchange.Redis can do the same given the text, but then it looks the text up in a dictionary on
/// every call (hashing kilobytes per decision); holding the SHA-1 here keeps the hot path to one call.
/// </remarks>
public sealed class RedisScript
{
    readonly string text;
    readonly byte[] sha1;

    RedisScript(string text)
    {
        this.text = text;
        sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Loads <paramref name="fileName"/> embedded in <paramref name="assembly"/> (any folder).</summary>
    public static RedisScript FromResource(Assembly assembly, string fileName)
    {
        var resource = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith("." + fileName, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Embedded script '{fileName}' not found in {assembly.GetName().Name}.");
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        return new RedisScript(reader.ReadToEnd());
    }

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            return await database.ScriptEvaluateAsync(sha1, keys, values);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // EVAL runs the script and makes the server remember it for the next EVALSHA.
            return await database.ScriptEvaluateAsync(text, keys, values);
        }
    }
}
