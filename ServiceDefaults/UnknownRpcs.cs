using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Platform.ServiceDefaults;

/// <summary>
/// A gRPC call of a service or method this process does not serve: UNIMPLEMENTED naming it. grpc-dotnet can
/// answer these with catch-all routes of its own, but those make the router capture route values on every
/// call (about 360 bytes each), so they are off (IgnoreUnknownServices) and the few calls that match no
/// endpoint end here.
/// </summary>
public sealed class UnknownRpcs(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        if (http.GetEndpoint() is not null || http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            return next(http);
        }
        http.Response.ContentType = "application/grpc";
        http.Response.Headers["grpc-status"] = ((int)StatusCode.Unimplemented).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.Headers["grpc-message"] = Uri.EscapeDataString($"{http.Request.Path} is not served here: unknown service or method.");
        return Task.CompletedTask;
    }
}
