using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// API keys are kept only as SHA-256 hashes. A presented key is hashed without allocating (it is on every
/// call's path) and compared with every configured hash in constant time, so timing says nothing about
/// which key is close. Keys are never logged.
/// </summary>
public static class ApiKeyHash
{
    const int StackLimit = 256;

    public static byte[] Of(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The entry whose hash is the presented key's, or null; every entry is compared.</summary>
    public static T? Find<T>(ReadOnlySpan<char> presentedKey, IReadOnlyList<T> entries, Func<T, byte[]> hashOf) where T : class
    {
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        var length = Encoding.UTF8.GetByteCount(presentedKey);
        var rented = length > StackLimit ? ArrayPool<byte>.Shared.Rent(length) : null;
        var utf8 = rented ?? stackalloc byte[StackLimit];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(presentedKey, utf8)], presented);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        T? match = null;
        for (var i = 0; i < entries.Count; i++)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, hashOf(entries[i])))
            {
                match = entries[i];
            }
        }
        return match;
    }
}
