using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Tests.Faults;

/// <summary>One bad HTTP request; <paramref name="Field"/> is the JSON property it aims at, if any.</summary>
/// <param name="Oversize">A body over the service's limit: declared (Content-Length) or, when chunked, discovered while reading.</param>
public sealed record HttpBadRequest(string Name, string Method, string Path, byte[]? Body, string? ContentType, string? Field, int OversizeBytes = 0, bool Chunked = false);

/// <summary>The status and (the start of) the body; status 0 when the connection ended without an answer.</summary>
public sealed record HttpAnswer(int Status, string Body);

/// <summary>
/// A route a service maps (read from its EndpointDataSource, so a new route is swept without being named
/// here) and the bad requests to send it: wrong path values, bodies that are no JSON or the wrong JSON,
/// wrong types in each property of a valid body, invalid UTF-8, a wrong content type, an oversize body.
/// </summary>
/// <param name="takesBody">The route declares POST, PUT or PATCH (a route open to every method, like /health, reads no body).</param>
public sealed partial class HttpRoute(RoutePattern pattern, IReadOnlyList<string> methods, bool takesBody, IReadOnlyList<(string Json, string Name)> properties, JsonObject seed)
{
    /// <summary>A JSON value of the wrong shape for most properties, or out of range for the rest.</summary>
    static readonly (string Name, string Json)[] WrongValues =
    [
        ("an object", """{"x":1}"""), ("an array", "[1,2]"), ("a non-numeric string", "\"not-a-number\""), ("a number", "123"),
        ("a bool", "true"), ("a number out of double range", "1e999"), ("-1", "-1"), ("a huge integer", "123456789012345678901234567890"),
        ("a negative duration", "\"-5s\""), ("an absurd duration", "\"315576000001s\""), ("a malformed duration", "\"1.5.5s\""),
        ("an unknown enum name", "\"NOT_A_VALUE\""), ("an unknown enum number", "999"), ("invalid base64", "\"!!not base64!!\""),
        ("an empty string", "\"\""), ("a 1 MiB string", "\"" + new string('a', 1024 * 1024) + "\""), ("null", "null"),
    ];

    static readonly (string Name, string Value)[] WrongPathValues =
    [
        ("invalid UTF-8 in the path", "%FF%FE"), ("a 4 KiB path value", new string('k', 4096)), ("a path traversal", "..%2F..%2Fx"),
        (KestrelRejects, "a%00b"), ("spaces and quotes", "a%20%22b%22"),
    ];

    /// <summary>Kestrel answers this itself, before any middleware, with a bare 400.</summary>
    public const string KestrelRejects = "a NUL in the path";

    public string Template => pattern.RawText ?? "";
    public IReadOnlyList<string> Methods => methods;
    public bool TakesBody => takesBody;

    public IEnumerable<HttpBadRequest> BadRequests()
    {
        foreach (var method in methods)
        {
            var hasBody = method is "POST" or "PUT" or "PATCH";
            var seedBody = hasBody ? Encoding.UTF8.GetBytes(seed.ToJsonString()) : null;
            if (pattern.Parameters.Count > 0)
            {
                foreach (var (name, value) in WrongPathValues)
                {
                    yield return new(name, method, Path(_ => value), seedBody, hasBody ? "application/json" : null, null);
                }
            }
            if (!hasBody)
            {
                yield return new("no body", method, Path(SeedValue), null, null, null);
                continue;
            }
            var path = Path(SeedValue);
            yield return new("the valid body", method, path, seedBody, "application/json", null);
            yield return new("an empty body", method, path, [], "application/json", null);
            yield return new("truncated JSON", method, path, "{\"a\":"u8.ToArray(), "application/json", null);
            yield return new("a JSON array", method, path, "[1,2]"u8.ToArray(), "application/json", null);
            yield return new("a JSON string", method, path, "\"x\""u8.ToArray(), "application/json", null);
            yield return new("JSON null", method, path, "null"u8.ToArray(), "application/json", null);
            yield return new("deeply nested JSON", method, path, Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000)), "application/json", null);
            yield return new("not JSON at all", method, path, [0xFF, 0xFE, 0x00, 0x01], "application/json", null);
            yield return new("a text/plain body", method, path, seedBody, "text/plain", null);
            yield return new("an XML body", method, path, "<a/>"u8.ToArray(), "application/xml", null);
            yield return new("undecodable audio", method, path, "RIFF....WAVEfmt not audio"u8.ToArray(), "audio/wav", null);
            yield return new("a multipart body without a file", method, path, "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--b--\r\n"u8.ToArray(), "multipart/form-data; boundary=b", null);
            yield return new("a truncated multipart body", method, path, "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF"u8.ToArray(), "multipart/form-data; boundary=b", null);
            foreach (var (json, name) in properties)
            {
                foreach (var (valueName, value) in WrongValues)
                {
                    yield return new($"{json}: {valueName}", method, path, With(json, Encoding.UTF8.GetBytes(value)), "application/json", name);
                }
                yield return new($"{json}: invalid UTF-8", method, path, With(json, [(byte)'"', 0x6B, 0xC3, 0x28, 0xFF, (byte)'"']), "application/json", name);
            }
        }
    }

    /// <summary>A body longer than the service accepts, its length declared up front or not (chunked).</summary>
    public IEnumerable<HttpBadRequest> Oversize(int bytes)
    {
        yield return new($"a {bytes / (1024 * 1024)} MiB body", "POST", Path(SeedValue), null, "application/json", null, bytes);
        yield return new($"a {bytes / (1024 * 1024)} MiB chunked body", "POST", Path(SeedValue), null, "application/json", null, bytes, Chunked: true);
    }

    /// <summary>A route parameter's value in the seed (job_id, namespace, key), so only the bad part of a request is bad.</summary>
    string SeedValue(string parameter)
    {
        var name = parameter.StartsWith("__Complex_", StringComparison.Ordinal) ? parameter["__Complex_".Length..parameter.LastIndexOf('_')] : parameter;
        var json = System.Text.RegularExpressions.Regex.Replace(name, "_([a-z])", m => m.Groups[1].Value.ToUpperInvariant());
        return seed[json] is JsonValue value && value.TryGetValue<string>(out var text) ? Uri.EscapeDataString(text) : "sweep";
    }

    /// <summary>The seed body with one property's value replaced by raw JSON bytes.</summary>
    byte[] With(string property, byte[] rawValue)
    {
        var body = (JsonObject)seed.DeepClone();
        body[property] = "\u0001BAD\u0001";
        var text = Encoding.UTF8.GetBytes(body.ToJsonString());
        var marker = Encoding.UTF8.GetBytes("\"\\u0001BAD\\u0001\"");
        var at = text.AsSpan().IndexOf(marker);
        return [.. text[..at], .. rawValue, .. text[(at + marker.Length)..]];
    }

    string Path(Func<string, string> value)
    {
        var path = new StringBuilder();
        foreach (var segment in pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                path.Append(part switch
                {
                    RoutePatternLiteralPart literal => literal.Content,
                    RoutePatternSeparatorPart separator => separator.Content,
                    // JSON transcoding puts a custom verb (":lookup") in a regex constraint on the last parameter.
                    RoutePatternParameterPart parameter => value(parameter.Name) + parameter.ParameterPolicies
                        .Select(policy => CustomVerb().Match(policy.Content ?? "")).FirstOrDefault(m => m.Success)?.Groups[1].Value,
                    _ => "",
                });
            }
        }
        return path.Length == 0 ? "/" : path.ToString();
    }

    [GeneratedRegex(@"^regex\((:[A-Za-z]+)\$\)$")]
    private static partial Regex CustomVerb();
}

public static class HttpRoutes
{
    /// <summary>
    /// Every HTTP route the service maps; a JSON transcoding route's body properties come from its request message.
    /// Native gRPC routes (POST /package.Service/Method, HTTP/2 only) are the gRPC sweep's.
    /// </summary>
    public static IEnumerable<HttpRoute> Of(IServiceProvider services)
    {
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().Where(e => !IsNativeGrpc(e)))
        {
            var declared = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [];
            var methods = declared.Count > 0 ? declared : ["GET", "POST"];
            var (properties, seed) = Body(endpoint);
            yield return new HttpRoute(endpoint.RoutePattern, methods.ToList(), declared.Any(m => m is "POST" or "PUT" or "PATCH"), properties, seed);
        }
    }

    static bool IsNativeGrpc(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method is { } grpc && endpoint.RoutePattern.RawText == $"/{grpc.ServiceName}/{grpc.Name}"
        || endpoint.RoutePattern.Parameters.Any(p => p.ParameterPolicies.Any(policy => policy.Content == "grpcunimplemented"));

    static (IReadOnlyList<(string Json, string Name)> Properties, JsonObject Seed) Body(RouteEndpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method is { } grpc
            && BadPayloads.KnownServices.TryGetValue(grpc.ServiceName, out var service)
            && service.FindMethodByName(grpc.Name) is { } method)
        {
            var seed = SweepSeeds.ByMessage.TryGetValue(method.InputType.FullName, out var message)
                ? (JsonObject)JsonNode.Parse(JsonFormatter.Default.Format(message))!
                : [];
            return (method.InputType.Fields.InDeclarationOrder().Select(f => (f.JsonName, f.Name)).ToList(), seed);
        }
        // A minimal API route that declares its body type (Accepts<T>): its JSON property names.
        if (endpoint.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is { } type)
        {
            var names = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name))
                .Select(n => (n, n)).ToList();
            return (names, SweepSeeds.HttpBodies.TryGetValue(type, out var body) ? (JsonObject)JsonNode.Parse(body)! : []);
        }
        return ([], []);
    }

    public static async Task<HttpAnswer> SendAsync(HttpClient http, HttpBadRequest bad)
    {
        using var request = new HttpRequestMessage(new HttpMethod(bad.Method), new Uri(bad.Path, UriKind.Relative));
        if (bad.OversizeBytes > 0)
        {
            request.Content = new OversizeBody(bad.OversizeBytes, bad.Chunked);
        }
        else if (bad.Body is not null)
        {
            request.Content = new ByteArrayContent(bad.Body);
        }
        if (request.Content is not null && bad.ContentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", bad.ContentType);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(15));
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            // Streams (Server-Sent Events, watches) are read only as far as their start.
            var body = new byte[16 * 1024];
            var read = 0;
            await using var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
            for (int n; read < body.Length && (n = await stream.ReadAsync(body.AsMemory(read), deadline.Token)) > 0; read += n)
            {
            }
            return new HttpAnswer((int)response.StatusCode, Encoding.UTF8.GetString(body, 0, read));
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            return new HttpAnswer(0, $"no answer: {e.Message} {e.InnerException?.Message}");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return new HttpAnswer(0, "no answer within 15 s");
        }
    }

    /// <summary>Why this answer is not a clear error (or success); null when it is.</summary>
    public static string? Judge(HttpBadRequest request, HttpAnswer answer)
    {
        if (request.OversizeBytes > 0)
        {
            // An HTTP/1.1 server that discovers an oversize chunked body while the client is still sending it answers 413
            // and closes the connection; .NET's client may see the reset before the answer. Whether the service
            // survived is checked after the sweep. A declared oversize length must get its 413.
            return answer.Status == 413 && answer.Body.Length > 0 || answer.Status == 0 && request.Chunked ? null : "an oversize body must be 413 with a body";
        }
        if (answer.Status == 0)
        {
            return "the connection ended without an answer";
        }
        if (request.Name == HttpRoute.KestrelRejects)
        {
            return answer.Status == 400 ? null : "Kestrel answers 400";
        }
        if (answer.Status >= 500)
        {
            return "a server error for a bad request";
        }
        if (answer.Status is >= 400 and not (404 or 405 or 414 or 431) && answer.Body.Length == 0)
        {
            return "an error without a body saying what is wrong";
        }
        if (answer.Status == 400 && request.Field is { } field && Named(answer.Body) is { Count: > 0 } named
            && !named.Any(n => n.Contains(field, StringComparison.Ordinal) || n.Contains(ToJsonName(field), StringComparison.Ordinal)))
        {
            return $"the error names {string.Join(", ", named)}, not {field}";
        }
        return null;
    }

    /// <summary>The fields an error body names: google.rpc.BadRequest violations (transcoding), or OpenAI's error.param (ChatApi).</summary>
    static IReadOnlyList<string> Named(string body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            if (root.TryGetProperty("details", out var details))
            {
                return details.EnumerateArray()
                    .Where(d => d.TryGetProperty("fieldViolations", out _))
                    .SelectMany(d => d.GetProperty("fieldViolations").EnumerateArray().Select(v => v.GetProperty("field").GetString() ?? ""))
                    .ToList();
            }
            if (root.TryGetProperty("error", out var error) && error.TryGetProperty("param", out var param) && param.ValueKind == JsonValueKind.String)
            {
                return [param.GetString()!];
            }
        }
        catch (JsonException)
        {
        }
        return [];
    }

    static string ToJsonName(string protoName) =>
        Regex.Replace(protoName, "_([a-z])", m => m.Groups[1].Value.ToUpperInvariant());

    /// <summary>A JSON-looking body of the given length, declared up front (Content-Length) or sent chunked.</summary>
    sealed class OversizeBody(int bytes, bool chunked) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)' ');
            chunk[0] = (byte)'{';
            for (var sent = 0; sent < bytes; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, Math.Min(chunk.Length, bytes - sent)));
                chunk[0] = (byte)' ';
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes;
            return !chunked;
        }
    }
}
