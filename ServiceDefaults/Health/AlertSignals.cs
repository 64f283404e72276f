using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Health;

/// <summary>Requests served and how many ended in a server error, over the alert window.</summary>
public sealed class RequestOutcomes(TimeProvider time, IOptionsMonitor<AlertOptions> options)
{
    public RollingCounter Requests { get; } = new(time, () => options.CurrentValue.Window);
    public RollingCounter ServerErrors { get; } = new(time, () => options.CurrentValue.Window);

    /// <summary>gRPC codes that mean the server failed, not the caller.</summary>
    /// <remarks>Not DEADLINE_EXCEEDED: a gRPC deadline is the caller's choice (a waiting Lookup, a long poll).</remarks>
    static readonly HashSet<string> ServerErrorCodes = ["2", "13", "14", "15"]; // UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS

    public void Record(HttpContext http, bool failed = false)
    {
        Requests.Add();
        if (failed)
        {
            ServerErrors.Add();
            return;
        }
        var response = http.Response;
        string? grpcStatus = response.Headers["grpc-status"]; // trailers-only responses carry it here
        if (string.IsNullOrEmpty(grpcStatus) && http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { } trailers)
        {
            grpcStatus = trailers["grpc-status"];
        }
        if (response.StatusCode >= 500 || (grpcStatus is { Length: > 0 } && ServerErrorCodes.Contains(grpcStatus)))
        {
            ServerErrors.Add();
        }
    }
}

/// <summary>
/// Counts every request's outcome for the error-rate alert; probes are not requests. It is the outermost
/// middleware (a startup filter), so it also sees what other middleware answers, such as a 504 past a
/// route's deadline, and an exception nothing handled (which Kestrel turns into a 500 after it).
/// </summary>
public sealed class RequestOutcomeMiddleware(RequestDelegate next, RequestOutcomes outcomes)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var failed = true;
        try
        {
            await next(http);
            failed = false;
        }
        finally
        {
            if (!Microsoft.Extensions.Hosting.Extensions.IsProbe(http.Request.Path))
            {
                outcomes.Record(http, failed && !http.RequestAborted.IsCancellationRequested);
            }
        }
    }
}

sealed class RequestOutcomeStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<RequestOutcomeMiddleware>();
        next(app);
    };
}

/// <summary>
/// Decisions a service took without a dependency it needs (RateLimit deciding by failure mode without
/// Redis; ChatApi allowing a request RateLimit could not check, or answering without its cache).
/// </summary>
public sealed class DegradedDecisions(TimeProvider time, IOptionsMonitor<AlertOptions> options)
{
    readonly RollingCounter counter = new(time, () => options.CurrentValue.Window);

    public void Record(long n = 1) => counter.Add(n);

    public long InWindow => counter.Total;
}
