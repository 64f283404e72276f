using System.Diagnostics;
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
    readonly string spanName;
    readonly string fileName;

    RedisScript(string fileName, string text)
    {
        this.text = text;
        this.fileName = fileName;
        sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
        spanName = "EVALSHA " + fileName;
    }

    /// <summary>Loads <paramref name="fileName"/> embedded in <paramref name="assembly"/> (any folder).</summary>
    public static RedisScript FromResource(Assembly assembly, string fileName)
    {
        var resource = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith("." + fileName, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Embedded script '{fileName}' not found in {assembly.GetName().Name}.");
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        return new RedisScript(fileName, reader.ReadToEnd());
    }

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        using var span = StartSpan();
        try
        {
            return await database.ScriptEvaluateAsync(sha1, keys, values);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // EVAL runs the script and makes the server remember it for the next EVALSHA.
            return await database.ScriptEvaluateAsync(text, keys, values);
        }
        catch (Exception e) when (span is not null)
        {
            span.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    /// <summary>
    /// A client span for this script call, only inside a sampled request (never a trace of its own): Redis
    /// tracing keeps no state beyond the span, where profiling every command kept each request's commands
    /// in memory until a periodic flush, sampled or not.
    /// </summary>
    Activity? StartSpan()
    {
        if (Activity.Current is not { Recorded: true })
        {
            return null;
        }
        var span = PlatformTelemetry.Source.StartActivity(spanName, ActivityKind.Client);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("db.system.name", "redis");
            span.SetTag("db.operation.name", "EVALSHA");
            span.SetTag("db.query.summary", fileName);
        }
        return span;
    }
}
