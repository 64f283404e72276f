using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using ErrorDetailsReflection = Google.Rpc.ErrorDetailsReflection;
using Microsoft.AspNetCore.Http;

namespace Platform.ServiceDefaults;

/// <summary>
/// Answers written before a request reaches its handler (refused credentials, shed load) in the caller's own
/// protocol: a trailers-only gRPC response, or HTTP with a google.rpc.Status JSON body, the shape JSON
/// transcoding gives every other error.
/// </summary>
public static class StatusResponses
{
    static readonly JsonFormatter StatusJson = new(JsonFormatter.Settings.Default.WithTypeRegistry(
        TypeRegistry.FromFiles(ErrorDetailsReflection.Descriptor)));

    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>gRPC: the status in the headers, and the call ends there. Otherwise: <paramref name="httpStatus"/> with the status as JSON.</summary>
    public static Task WriteAsync(HttpContext http, Google.Rpc.Status status, int httpStatus) =>
        IsGrpc(http.Request) ? WriteGrpcAsync(http.Response, status) : WriteJsonAsync(http.Response, status, httpStatus);

    static Task WriteGrpcAsync(HttpResponse response, Google.Rpc.Status status)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = status.Code.ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(status.Message);
        response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray());
        return Task.CompletedTask;
    }

    static Task WriteJsonAsync(HttpResponse response, Google.Rpc.Status status, int httpStatus)
    {
        response.StatusCode = httpStatus;
        response.ContentType = "application/json";
        return response.WriteAsync(StatusJson.Format(status));
    }
}
