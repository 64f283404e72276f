using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace Platform.ServiceDefaults;

/// <summary>
/// Errors in the gRPC rich error model (google.rpc.Status with details), so callers in any language
/// can read which field was wrong, when to retry, or which dependency failed.
/// </summary>
public static class GrpcErrors
{
    public const string Domain = "platform";

    /// <summary>
    /// Field violations sent with one INVALID_ARGUMENT. The error travels in the response trailers, which
    /// clients cap (64 KiB in .NET's HttpClient): a request with thousands of bad entries would otherwise get
    /// an answer its caller cannot even read.
    /// </summary>
    public const int MaxReportedViolations = 10;

    public static RpcException InvalidArgument(IReadOnlyList<BadRequest.Types.FieldViolation> violations)
    {
        var reported = violations.Take(MaxReportedViolations).ToList();
        var message = string.Join("; ", reported.Select(v => $"{v.Field}: {v.Description}"))
                      + (violations.Count > reported.Count ? $"; and {violations.Count - reported.Count} more" : "");
        return new Status
        {
            Code = (int)Code.InvalidArgument,
            Message = message,
            Details = { Any.Pack(new BadRequest { FieldViolations = { reported } }) },
        }.ToRpcException();
    }

    [DoesNotReturn]
    public static void ThrowNotFound(string message, string resourceType, string resourceName) =>
        throw new Status
        {
            Code = (int)Code.NotFound,
            Message = message,
            Details = { Any.Pack(new ResourceInfo { ResourceType = resourceType, ResourceName = resourceName }) },
        }.ToRpcException();

    /// <param name="type">What kind of precondition failed, e.g. "LEASE" or "STATE" (PreconditionFailure.type).</param>
    public static RpcException FailedPrecondition(string message, string type, string subject) =>
        new Status
        {
            Code = (int)Code.FailedPrecondition,
            Message = message,
            Details = { Any.Pack(new PreconditionFailure { Violations = { new PreconditionFailure.Types.Violation { Type = type, Subject = subject, Description = message } } }) },
        }.ToRpcException();

    public static RpcException Unavailable(string dependency, string message) =>
        new Status
        {
            Code = (int)Code.Unavailable,
            Message = message,
            Details = { Any.Pack(new ErrorInfo { Reason = dependency.ToUpperInvariant() + "_UNAVAILABLE", Domain = Domain }) },
        }.ToRpcException();

    public static RpcException ResourceExhausted(string message, TimeSpan retryAfter, string subject, string description) =>
        new Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = message,
            Details =
            {
                Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) }),
                Any.Pack(new QuotaFailure { Violations = { new QuotaFailure.Types.Violation { Subject = subject, Description = description } } }),
            },
        }.ToRpcException();
}

/// <summary>
/// Collects every field violation of a request, then fails once with all of them, so a caller fixes
/// its request in one round trip.
/// </summary>
public sealed partial class RequestValidator
{
    public const string NameRule = "required; 1-64 characters [A-Za-z0-9_.-]";

    /// <summary>Created at the first violation: a valid request (nearly every one) costs one small object.</summary>
    List<BadRequest.Types.FieldViolation>? violations;

    /// <remarks>Validation runs on every call: build a description that needs formatting only when
    /// <paramref name="valid"/> is false (as <see cref="CheckRequiredBytes"/> does).</remarks>
    public RequestValidator Check(bool valid, string field, string description)
    {
        if (!valid)
        {
            (violations ??= []).Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        }
        return this;
    }

    /// <summary>A policy, namespace or similar identifier: 1-64 characters [A-Za-z0-9_.-].</summary>
    public RequestValidator CheckName(string value, string field) => Check(Name().IsMatch(value), field, NameRule);

    /// <summary>A required string of at most <paramref name="maxBytes"/> bytes of UTF-8.</summary>
    public RequestValidator CheckRequiredBytes(string value, string field, int maxBytes) =>
        value.Length > 0 && Encoding.UTF8.GetByteCount(value) <= maxBytes ? this : Check(false, field, $"required; at most {maxBytes} bytes");

    public void ThrowIfInvalid()
    {
        if (violations is { Count: > 0 })
        {
            throw GrpcErrors.InvalidArgument(violations);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex Name();
}
