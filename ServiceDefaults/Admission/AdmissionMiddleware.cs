using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Code = Google.Rpc.Code;
using ErrorInfo = Google.Rpc.ErrorInfo;
using RetryInfo = Google.Rpc.RetryInfo;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Admission;

/// <summary>
/// The door of every service: a request of a class at its limit waits briefly for a slot (never past its
/// caller's deadline) or is refused at once with a retry hint, so overload becomes fast refusals instead of
/// requests queueing inside the process until they are useless. Work already admitted is never cut.
/// </summary>
public sealed class AdmissionMiddleware(RequestDelegate next, AdmissionControl admission, IOptionsMonitor<AdmissionOptions> options, TimeProvider time)
{
    public Task InvokeAsync(HttpContext http)
    {
        var gate = admission.GateFor(http);
        if (gate is null)
        {
            return next(http);
        }
        return gate.TryEnter() ? RunAsync(http, gate) : WaitOrRefuseAsync(http, gate);
    }

    async Task RunAsync(HttpContext http, AdmissionGate gate)
    {
        try
        {
            await next(http);
        }
        finally
        {
            gate.Exit();
        }
    }

    async Task WaitOrRefuseAsync(HttpContext http, AdmissionGate gate)
    {
        var started = time.GetTimestamp();
        if (await gate.WaitAsync(gate.WaitBudget(GrpcDeadline.Remaining(http.Request)), http.RequestAborted))
        {
            admission.Queued(gate, time.GetElapsedTime(started));
            await RunAsync(http, gate);
            return;
        }
        admission.Refused(gate);
        if (http.RequestAborted.IsCancellationRequested)
        {
            return; // the caller has gone: nobody to answer
        }
        var settings = options.CurrentValue;
        // Jitter spreads the retries of a refused crowd over time instead of bringing it back at once.
        var retryAfter = settings.RetryAfter * (0.5 + Random.Shared.NextDouble());
        await (settings.OnRejected ?? WriteRefusalAsync)(new AdmissionRefusal(http, gate.Name, retryAfter));
    }

    /// <summary>
    /// gRPC: RESOURCE_EXHAUSTED with RetryInfo and ErrorInfo (reason OVERLOADED). HTTP: 503 with Retry-After
    /// and the same status as JSON. RESOURCE_EXHAUSTED, not UNAVAILABLE: clients' automatic retry policies
    /// retry UNAVAILABLE at once, which is exactly the load an overloaded service must not get.
    /// </summary>
    public static Task WriteRefusalAsync(AdmissionRefusal refusal)
    {
        refusal.Http.Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return StatusResponses.WriteAsync(refusal.Http, new Google.Rpc.Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = $"Overloaded: too many '{refusal.ClassName}' requests in flight on this replica. Retry after {refusal.RetryAfter.TotalSeconds:0.#} s.",
            Details =
            {
                Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(refusal.RetryAfter) }),
                Any.Pack(new ErrorInfo { Reason = "OVERLOADED", Domain = GrpcErrors.Domain, Metadata = { ["class"] = refusal.ClassName } }),
            },
        }, StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary>A request refused at the door, for <see cref="AdmissionOptions.OnRejected"/>.</summary>
public readonly record struct AdmissionRefusal(HttpContext Http, string ClassName, TimeSpan RetryAfter)
{
    /// <summary>Retry-After in whole seconds (HTTP has no finer unit), at least 1.</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
}

/// <summary>The time a gRPC caller has left (its grpc-timeout header), if it set a deadline.</summary>
public static class GrpcDeadline
{
    public static TimeSpan? Remaining(HttpRequest request)
    {
        var header = request.Headers["grpc-timeout"];
        if (header.Count != 1 || header[0] is not { Length: >= 2 } value
            || !long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return null;
        }
        return value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromMicroseconds(amount),
            'n' => TimeSpan.FromTicks(amount / 100),
            _ => null,
        };
    }
}
