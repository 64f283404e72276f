using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Every call's credential check: authenticates the key (<see cref="ApiKeyStore"/>), enforces the endpoint's
/// <c>[Authorize(Roles = ...)]</c>, <see cref="AdminRpcAttribute"/> and <c>AllowAnonymous</c> metadata (an
/// endpoint without any needs a valid key), and answers a refusal in the caller's protocol (<see cref="AuthRefusals"/>).
/// </summary>
/// <remarks>
/// ASP.NET Core's UseAuthentication + UseAuthorization do the same job, but cost about 3.4 KB of
/// allocations and two asynchronous frames on every call (handler activation, policy evaluation, result
/// objects) — more than the rest of a rate-limit decision (docs/PERFORMANCE.md). Here an admitted call
/// passes straight through, allocating nothing: the principal is the credential's, built once, and each
/// endpoint's rule is read from its metadata once.
/// </remarks>
public sealed class PlatformAuthMiddleware(RequestDelegate next, ApiKeyStore keys, AuthRefusals refusals)
{
    readonly ConcurrentDictionary<Endpoint, AccessRule> rules = new();

    public Task InvokeAsync(HttpContext http)
    {
        var rule = http.GetEndpoint() is { } endpoint ? rules.GetOrAdd(endpoint, AccessRule.Of) : AccessRule.AnyCaller;
        if (rule.Anonymous)
        {
            return next(http);
        }
        var authentication = keys.Authenticate(http.Request.Headers.Authorization);
        if (authentication.Caller is not { } caller)
        {
            return refusals.UnauthenticatedAsync(http, authentication.Failure);
        }
        http.User = caller;
        return rule.MissingRole(caller) is { } role ? refusals.ForbiddenAsync(http, caller.Caller, role) : next(http);
    }
}

/// <summary>Who may call an endpoint: anyone, or a caller with one role out of each required set.</summary>
public sealed class AccessRule
{
    public static readonly AccessRule AnyCaller = new(false, []);

    AccessRule(bool anonymous, string[][] requiredRoles) => (Anonymous, RequiredRoles) = (anonymous, requiredRoles);

    public bool Anonymous { get; }

    /// <summary>Each attribute's roles: the caller needs one of each (class and method attributes both apply).</summary>
    public string[][] RequiredRoles { get; }

    public static AccessRule Of(Endpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return new AccessRule(true, []);
        }
        var required = new List<string[]>();
        foreach (var data in endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>())
        {
            if (data.Policy is not null || data.AuthenticationSchemes is not null)
            {
                throw new InvalidOperationException($"{endpoint.DisplayName}: only [Authorize(Roles = ...)] is supported (no policies or schemes).");
            }
            if (data.Roles is { Length: > 0 } roles)
            {
                required.Add(roles.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            }
        }
        return new AccessRule(false, [.. required]);
    }

    /// <returns>Null when <paramref name="caller"/> may call; else the roles it lacks, as "a or b".</returns>
    public string? MissingRole(PlatformPrincipal caller)
    {
        foreach (var anyOf in RequiredRoles)
        {
            var held = false;
            foreach (var role in anyOf)
            {
                held |= caller.Roles.Contains(role);
            }
            if (!held)
            {
                return string.Join(" or ", anyOf);
            }
        }
        return null;
    }
}
