using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Health;

namespace Platform.ChatApi;

/// <summary>A request shed because a dependency is overloaded: HTTP 503 (type "overloaded") / RESOURCE_EXHAUSTED, with a retry hint.</summary>
public sealed class ChatOverloadedException(string dependency, TimeSpan retryAfter, Exception inner)
    : Exception($"{dependency} is overloaded; retry after {Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))} s.", inner)
{
    public TimeSpan RetryAfter => retryAfter;
}

/// <summary>
/// How ChatApi reads a failed call to RateLimit or Cache.
/// <list type="bullet">
/// <item>Overloaded — it refused for load (RESOURCE_EXHAUSTED), or missed the deadline while it still answers
/// others: the request is shed at ChatApi's own door with a retry hint. A slow dependency must not turn into
/// thousands of requests without rate limits, or without the cache (each a model call a provider bills).</item>
/// <item>Unreachable — connection refused or broken, or no answer at all for Chat:DependencyOutageAfter: the
/// feature degrades (fail open, cache bypass). The outage is logged once when it starts and once when it ends,
/// with how many requests it touched, never once per request.</item>
/// </list>
/// Anything else (a missing policy, a refused argument) is a configuration problem the caller handles.
/// </summary>
public sealed partial class Dependency(string name, string consequence, TimeProvider time, IOptionsMonitor<ChatGatewayOptions> options,
    DegradedDecisions degraded, ILogger logger)
{
    /// <summary>An outage ends when calls have succeeded for this long without a failure: with several replicas behind one
    /// name, one of them down makes calls fail and succeed by turns, which is one outage, not many.</summary>
    static readonly TimeSpan QuietBeforeRecovered = TimeSpan.FromSeconds(5);

    long lastAnswered = time.GetTimestamp(), lastFailed;
    long degradedSinceOutage;
    int down;

    public string Name => name;

    public bool IsDown => Volatile.Read(ref down) == 1;

    /// <summary>A call succeeded: ends an outage, if one was on.</summary>
    public void Answered()
    {
        Interlocked.Exchange(ref lastAnswered, time.GetTimestamp());
        if (Volatile.Read(ref down) == 1 && time.GetElapsedTime(Interlocked.Read(ref lastFailed)) > QuietBeforeRecovered
            && Interlocked.Exchange(ref down, 0) == 1)
        {
            LogRecovered(logger, name, Interlocked.Exchange(ref degradedSinceOutage, 0));
        }
    }

    /// <summary>Whether a failure means overload (shed the request) rather than an outage (degrade) or a configuration problem.</summary>
    public bool IsOverload(RpcException e) =>
        e.StatusCode == StatusCode.ResourceExhausted
        || (e.StatusCode == StatusCode.DeadlineExceeded && time.GetElapsedTime(Interlocked.Read(ref lastAnswered)) < options.CurrentValue.DependencyOutageAfter);

    public static bool IsOutage(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown;

    /// <summary>The request to shed, with the dependency's own retry hint when it sent one.</summary>
    public ChatOverloadedException Overloaded(RpcException e) =>
        new(name, e.GetRpcStatus()?.GetDetail<RetryInfo>()?.RetryDelay?.ToTimeSpan() ?? TimeSpan.FromSeconds(1), e);

    /// <summary>A decision taken without the dependency (counted for the Degraded alert); the first of an outage is logged.</summary>
    public void Degrade(RpcException e)
    {
        degraded.Record();
        Interlocked.Exchange(ref lastFailed, time.GetTimestamp());
        Interlocked.Increment(ref degradedSinceOutage);
        if (Interlocked.Exchange(ref down, 1) == 0)
        {
            LogDown(logger, name, e.StatusCode, e.Status.Detail, consequence);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Dependency} unreachable ({Status}: {Detail}): {Consequence} until it answers again")]
    static partial void LogDown(ILogger logger, string dependency, StatusCode status, string detail, string consequence);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Dependency} answers again; {Requests} requests were served without it")]
    static partial void LogRecovered(ILogger logger, string dependency, long requests);
}

/// <summary>ChatApi's dependencies that it can answer without, each with its outage state.</summary>
public sealed class Dependencies(TimeProvider time, IOptionsMonitor<ChatGatewayOptions> options, DegradedDecisions degraded, ILogger<Dependencies> logger)
{
    public Dependency RateLimit { get; } = new("RateLimit", "requests are allowed without rate limits (fail open)", time, options, degraded, logger);
    public Dependency Cache { get; } = new("Cache", "answers are not cached (X-Cache: BYPASS)", time, options, degraded, logger);
}
