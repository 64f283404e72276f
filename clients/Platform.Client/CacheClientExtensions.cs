using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Cache.V1;
using CacheClient = Platform.Cache.V1.Cache.CacheClient;

namespace Platform.Client;

/// <summary>Cache-aside with stampede protection over <see cref="CacheClient"/>'s Lookup, Fill and Abandon.</summary>
public static class CacheClientExtensions
{
    // Abandon runs after the factory failed, perhaps because the caller cancelled: it gets its own short deadline.
    static readonly TimeSpan AbandonDeadline = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Returns the cached value, or computes it once across every caller of every replica and caches it.
    /// </summary>
    /// <remarks>
    /// Calls Lookup. A hit returns the value (possibly after waiting for another caller's Fill). A lease makes this
    /// caller compute: <paramref name="factory"/> runs and its value is stored with Fill; if the factory throws, the
    /// lease is given back with Abandon (so a waiting caller takes over at once) and the exception propagates. When
    /// <see cref="CacheEntryOptions.MaxWait"/> passes while another caller still computes, or the lease was lost
    /// before Fill (it outlived its lease_ttl), the value is computed and returned without being cached.
    /// Errors of Lookup and Fill propagate as <see cref="RpcException"/>.
    /// </remarks>
    /// <example>
    /// <code>
    /// var answer = await cache.GetOrCreateAsync("chat", questionHash,
    ///     async ct => ByteString.CopyFromUtf8(await model.AnswerAsync(question, ct)),
    ///     new CacheEntryOptions { Ttl = TimeSpan.FromMinutes(5), Tags = ["user:7"] });
    /// </code>
    /// </example>
    /// <param name="client">The Cache client.</param>
    /// <param name="namespace">Scope of the key, e.g. a team or feature name.</param>
    /// <param name="key">Entry key.</param>
    /// <param name="factory">Computes the value on a miss.</param>
    /// <param name="options">TTL, tags, lease TTL and wait.</param>
    /// <param name="cancellationToken">Cancels the calls and the factory.</param>
    /// <returns>The value and where it came from.</returns>
    public static async Task<CachedValue<ByteString>> GetOrCreateAsync(this CacheClient client, string @namespace, string key,
        Func<CancellationToken, Task<ByteString>> factory, CacheEntryOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(options);
        var lookup = await client.LookupAsync(new LookupRequest
        {
            Namespace = @namespace,
            Key = key,
            LeaseTtl = options.LeaseTtl is { } leaseTtl ? Duration.FromTimeSpan(leaseTtl) : null,
            MaxWait = options.MaxWait is { } maxWait ? Duration.FromTimeSpan(maxWait) : null,
        }, cancellationToken: cancellationToken).ConfigureAwait(false);

        if (lookup.ResultCase == LookupResponse.ResultOneofCase.Hit)
        {
            return new CachedValue<ByteString>(lookup.Hit.Value, CacheValueSource.Hit);
        }
        if (lookup.ResultCase != LookupResponse.ResultOneofCase.Lease)
        {
            // Timeout: another caller still computes it. Don't wait longer; don't cache what may differ from its value.
            return new CachedValue<ByteString>(await factory(cancellationToken).ConfigureAwait(false), CacheValueSource.Computed);
        }

        var token = lookup.Lease.Token;
        ByteString value;
        try
        {
            value = await factory(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await AbandonQuietlyAsync(client, @namespace, key, token).ConfigureAwait(false);
            throw;
        }

        try
        {
            await client.FillAsync(new FillRequest
            {
                Namespace = @namespace,
                Key = key,
                Token = token,
                Value = value,
                Ttl = Duration.FromTimeSpan(options.Ttl),
                Tags = { options.Tags },
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
        {
            // The lease expired while computing (another caller may hold it now): the value is still good.
            return new CachedValue<ByteString>(value, CacheValueSource.Computed);
        }
        catch
        {
            await AbandonQuietlyAsync(client, @namespace, key, token).ConfigureAwait(false);
            throw;
        }
        return new CachedValue<ByteString>(value, CacheValueSource.Filled);
    }

    /// <summary>
    /// <see cref="GetOrCreateAsync(CacheClient, string, string, Func{CancellationToken, Task{ByteString}}, CacheEntryOptions, CancellationToken)"/>
    /// for text, stored as UTF-8.
    /// </summary>
    /// <param name="client">The Cache client.</param>
    /// <param name="namespace">Scope of the key.</param>
    /// <param name="key">Entry key.</param>
    /// <param name="factory">Computes the text on a miss.</param>
    /// <param name="options">TTL, tags, lease TTL and wait.</param>
    /// <param name="cancellationToken">Cancels the calls and the factory.</param>
    /// <returns>The text and where it came from.</returns>
    public static async Task<CachedValue<string>> GetOrCreateAsync(this CacheClient client, string @namespace, string key,
        Func<CancellationToken, Task<string>> factory, CacheEntryOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var bytes = await client.GetOrCreateAsync(@namespace, key,
            async ct => ByteString.CopyFrom(await factory(ct).ConfigureAwait(false), Encoding.UTF8), options, cancellationToken).ConfigureAwait(false);
        return new CachedValue<string>(bytes.Value.ToStringUtf8(), bytes.Source);
    }

    static async Task AbandonQuietlyAsync(CacheClient client, string @namespace, string key, string token)
    {
        try
        {
            await client.AbandonAsync(new AbandonRequest { Namespace = @namespace, Key = key, Token = token },
                deadline: DateTime.UtcNow + AbandonDeadline).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The lease expires on its own after its lease_ttl; the caller gets the original error.
        }
    }
}

/// <summary>How <see cref="CacheClientExtensions"/>.GetOrCreateAsync stores an entry it computes.</summary>
public sealed record CacheEntryOptions
{
    /// <summary>How long the entry lives: 1 second to 7 days. Required.</summary>
    public required TimeSpan Ttl { get; init; }

    /// <summary>Up to 16 tags, for InvalidateTags.</summary>
    public IReadOnlyCollection<string> Tags { get; init; } = [];

    /// <summary>How long this caller may compute before its lease expires and another caller takes over (server default: 30 s).</summary>
    public TimeSpan? LeaseTtl { get; init; }

    /// <summary>How long to wait for another caller computing the same key before computing without caching (server default: 10 s).</summary>
    public TimeSpan? MaxWait { get; init; }
}

/// <summary>A value from the cache or its factory.</summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <param name="Value">The value.</param>
/// <param name="Source">Where it came from.</param>
public sealed record CachedValue<T>(T Value, CacheValueSource Source);

/// <summary>Where a value of GetOrCreateAsync came from.</summary>
public enum CacheValueSource
{
    /// <summary>The cache had it, or another caller filled it while this one waited.</summary>
    Hit,

    /// <summary>This caller computed it and stored it.</summary>
    Filled,

    /// <summary>This caller computed it and did not store it: the wait for another caller ran out, or the lease was lost.</summary>
    Computed,
}
