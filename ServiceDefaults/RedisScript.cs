using System.Reflection;
using StackExchange.Redis;

namespace Platform.ServiceDefaults;

/// <summary>
/// A Lua script shipped as an embedded <c>.lua</c> resource. StackExchange.Redis sends it by SHA
/// (EVALSHA) after the first call and re-sends the text if the server forgot it (NOSCRIPT, e.g.
/// after a Redis restart), so the script text crosses the wire only when needed.
/// </summary>
public sealed class RedisScript
{
    readonly string text;

    RedisScript(string name, string text)
    {
        Name = name;
        this.text = text;
    }

    public string Name { get; }

    /// <summary>Loads <paramref name="fileName"/> embedded in <paramref name="assembly"/> (any folder).</summary>
    public static RedisScript FromResource(Assembly assembly, string fileName)
    {
        var resource = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith("." + fileName, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Embedded script '{fileName}' not found in {assembly.GetName().Name}.");
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        return new RedisScript(fileName, reader.ReadToEnd());
    }

    public Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values) =>
        database.ScriptEvaluateAsync(text, keys, values);
}
