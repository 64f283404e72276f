using Google.Rpc;
using Grpc.Core;

namespace Platform.Tests.Support;

public static class Rpc
{
    /// <summary>Runs a call expected to fail; returns its status code and rich error details.</summary>
    public static async Task<(StatusCode Code, Google.Rpc.Status? Details)> FailureOf(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        return (e.StatusCode, e.GetRpcStatus());
    }

    /// <summary>The fields named by a BadRequest detail.</summary>
    public static IReadOnlyList<string> ViolatedFields(this Google.Rpc.Status? status) =>
        status?.GetDetail<BadRequest>()?.FieldViolations.Select(v => v.Field).ToList() ?? [];

    /// <summary>Asserts INVALID_ARGUMENT naming exactly these fields, in order.</summary>
    public static void AssertInvalid(StatusCode code, Google.Rpc.Status? details, params string[] fields)
    {
        Assert.Equal(StatusCode.InvalidArgument, code);
        Assert.Equal(fields, details.ViolatedFields());
    }
}
