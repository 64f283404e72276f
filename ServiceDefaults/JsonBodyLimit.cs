using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults;

/// <summary>
/// A JSON (transcoded) request whose body is over what the RPC could accept is 413 with a google.rpc.Status
/// body. Without this, a declared length over Kestrel's 30 MB limit reset the connection before the client could
/// read an answer, and a chunked body over it came back as 400 INVALID_ARGUMENT. The limit is the gRPC
/// message limit (GrpcServiceOptions.MaxReceiveMessageSize) as JSON: base64 makes bytes a third larger.
/// </summary>
public sealed class JsonBodyLimit(RequestDelegate next, IOptions<GrpcServiceOptions> grpc)
{
    readonly long limit = (grpc.Value.MaxReceiveMessageSize ?? 4 * 1024 * 1024) * 4L / 3 + 1024 * 1024;

    public Task InvokeAsync(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is null
        || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true
        || context.Features.Get<IHttpMaxRequestBodySizeFeature>() is not { IsReadOnly: false } bodyLimit
            ? next(context) // not JSON: straight through, without a frame of its own
            : LimitAsync(context, bodyLimit);

    async Task LimitAsync(HttpContext context, IHttpMaxRequestBodySizeFeature bodyLimit)
    {
        // Refused before anything is read: Kestrel then drains the body (up to its own limit), so the client
        // reads this answer instead of a reset connection.
        if (context.Request.ContentLength > limit)
        {
            await TooLargeAsync(context);
            return;
        }
        bodyLimit.MaxRequestBodySize = limit;
        if (context.Request.ContentLength is null && context.Request.Headers.TransferEncoding.Count > 0)
        {
            // Chunked: the size shows only while reading, and the transcoder would report an overrun as 400.
            // Kestrel's limit (set above) ends the read with 413; the buffer itself needs no limit of its own.
            context.Request.EnableBuffering(bufferThreshold: 64 * 1024);
            try
            {
                await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await TooLargeAsync(context);
                return;
            }
            context.Request.Body.Position = 0;
        }
        await next(context);
    }

    Task TooLargeAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        return context.Response.WriteAsJsonAsync(new
        {
            code = (int)Grpc.Core.StatusCode.InvalidArgument,
            message = $"The request body is over {limit} bytes, the most this service accepts as JSON.",
            details = Array.Empty<object>(),
        });
    }
}
