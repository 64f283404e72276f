using Platform.RateLimit.V1;
using RateLimiterClient = Platform.RateLimit.V1.RateLimiter.RateLimiterClient;

namespace Platform.Client;

/// <summary>Check-then-act rate limiting with <see cref="RateLimiterClient"/>.</summary>
public static class RateLimiterClientExtensions
{
    /// <summary>
    /// Counts <paramref name="cost"/> units against (<paramref name="policy"/>, <paramref name="key"/>) and runs
    /// <paramref name="action"/> only when RateLimit allows it. A denial is not an exception: the result says
    /// <see cref="RateLimitedResult.Allowed"/> = false and when to try again (<see cref="RateLimitedResult.RetryAfter"/>).
    /// </summary>
    /// <example>
    /// <code>
    /// var result = await rateLimiter.RunIfAllowedAsync("chat", userId, ct => answers.CreateAsync(question, ct));
    /// if (!result.Allowed) return Results.StatusCode(429); // with Retry-After: result.RetryAfter
    /// return Results.Ok(result.Value);
    /// </code>
    /// </example>
    /// <param name="client">The RateLimit client.</param>
    /// <param name="policy">A policy configured on the server, e.g. "chat".</param>
    /// <param name="key">What is limited: a user id, an API key, a client address.</param>
    /// <param name="action">The work to do when allowed.</param>
    /// <param name="cost">Units to consume (1 by default; at most the policy's limit).</param>
    /// <param name="cancellationToken">Cancels the check and the action.</param>
    /// <returns>The decision and, when allowed, the action's value.</returns>
    /// <exception cref="Grpc.Core.RpcException">The check failed (e.g. NOT_FOUND for an unknown policy); the action did not run.</exception>
    public static async Task<RateLimitedResult<T>> RunIfAllowedAsync<T>(this RateLimiterClient client, string policy, string key,
        Func<CancellationToken, Task<T>> action, uint cost = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        var decision = await client.CheckAsync(new CheckRequest { Policy = policy, Key = key, Cost = cost }, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return decision.Allowed
            ? new RateLimitedResult<T>(decision, await action(cancellationToken).ConfigureAwait(false))
            : new RateLimitedResult<T>(decision, default);
    }

    /// <inheritdoc cref="RunIfAllowedAsync{T}(RateLimiterClient, string, string, Func{CancellationToken, Task{T}}, uint, CancellationToken)"/>
    public static async Task<RateLimitedResult> RunIfAllowedAsync(this RateLimiterClient client, string policy, string key,
        Func<CancellationToken, Task> action, uint cost = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        var decision = await client.CheckAsync(new CheckRequest { Policy = policy, Key = key, Cost = cost }, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        if (decision.Allowed)
        {
            await action(cancellationToken).ConfigureAwait(false);
        }
        return new RateLimitedResult(decision);
    }
}

/// <summary>A rate-limit decision, from <see cref="RateLimiterClientExtensions.RunIfAllowedAsync(RateLimiterClient, string, string, Func{CancellationToken, Task}, uint, CancellationToken)"/>.</summary>
/// <param name="Decision">RateLimit's answer: limit, remaining, reset_after, degraded, over_limit.</param>
public record RateLimitedResult(CheckResponse Decision)
{
    /// <summary>True when the action ran.</summary>
    public bool Allowed => Decision.Allowed;

    /// <summary>When denied: the wait after which the same request would pass. Zero when allowed.</summary>
    public TimeSpan RetryAfter => Decision.RetryAfter?.ToTimeSpan() ?? TimeSpan.Zero;
}

/// <summary>A rate-limit decision and, when allowed, the value the action returned.</summary>
/// <typeparam name="T">The action's value.</typeparam>
/// <param name="Decision">RateLimit's answer.</param>
/// <param name="Value">The action's value; default when denied.</param>
public sealed record RateLimitedResult<T>(CheckResponse Decision, T? Value) : RateLimitedResult(Decision);
