using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Platform.Tests.Faults;

/// <summary>One bad request: its bytes, the field it aims at (null: the whole message) and whether the bytes are not a valid message at all.</summary>
public sealed record BadPayload(string Name, byte[] Bytes, string? Field, bool Malformed);

/// <summary>
/// Bad protobuf requests built from a message's descriptor, so a new RPC or field is swept without
/// anyone listing it: bytes that are no message, invalid UTF-8 in each string field, empty and huge
/// values, invalid enum numbers, extreme numbers, negative and absurd durations, huge repeated fields
/// and maps, wrong wire types; one level down into nested messages. Each is appended to a valid request
/// (the seed), so the bad field is the only thing wrong with it (a repeated protobuf field
/// appends, a scalar overrides).
/// </summary>
public static class BadPayloads
{
    const int HugeString = 1024 * 1024;
    const int HugeBytes = 2 * 1024 * 1024;
    const int ManyEntries = 10_000;
    static readonly byte[] InvalidUtf8 = [0x6B, 0xC3, 0x28, 0xFF, 0xFE];

    /// <summary>Every service in the descriptors compiled into the test (protos/, grpc health and reflection).</summary>
    public static IReadOnlyDictionary<string, ServiceDescriptor> KnownServices { get; } =
        new[] { typeof(Platform.Cache.V1.Cache).Assembly, typeof(Grpc.Health.V1.Health).Assembly, typeof(Grpc.Reflection.V1Alpha.ServerReflection).Assembly }
            .SelectMany(assembly => assembly.GetTypes())
            .Select(type => type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
            .OfType<FileDescriptor>()
            .SelectMany(file => file.Services)
            .DistinctBy(service => service.FullName)
            .ToDictionary(service => service.FullName);

    public static IEnumerable<BadPayload> For(MessageDescriptor type, byte[] seed)
    {
        yield return new("no message at all (unterminated varint)", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF], null, Malformed: true);
        yield return new("a length that overruns the message", [.. seed, 0x0A, 0x7F], null, Malformed: true);
        yield return new("every field empty", [], null, Malformed: false);
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            foreach (var (name, bytes, malformed) in Values(field, depth: 0))
            {
                yield return new($"{field.Name}: {name}", [.. seed, .. bytes], field.Name, malformed);
            }
        }
    }

    /// <summary>Over any service's largest accepted message (gRPC answers RESOURCE_EXHAUSTED before parsing).</summary>
    public static BadPayload Oversize(byte[] seed) =>
        new("a 20 MiB message", [.. seed, .. Len(1000, new byte[20 * 1024 * 1024])], null, Malformed: false);

    static IEnumerable<(string Name, byte[] Bytes, bool Malformed)> Values(FieldDescriptor field, int depth)
    {
        var n = field.FieldNumber;
        // A known field with the wrong wire type is an unknown field to protobuf: ignored, never an error.
        yield return ("wrong wire type", IsLengthDelimited(field) ? Varint(n, 7) : Len(n, "abc"u8.ToArray()), false);

        if (field.IsMap)
        {
            yield return ("map key with invalid UTF-8", Len(n, [.. Len(1, InvalidUtf8), .. Len(2, "v"u8.ToArray())]), true);
            yield return ($"{ManyEntries} map entries", Many(i => Len(n, [.. Len(1, Utf8($"k{i}")), .. Len(2, "v"u8.ToArray())])), false);
            yield return ("map entry with a huge value", Len(n, [.. Len(1, "k"u8.ToArray()), .. Len(2, new byte[HugeString].Fill((byte)'a'))]), false);
            yield return ("map entry with an empty key", Len(n, [.. Len(1, []), .. Len(2, "v"u8.ToArray())]), false);
            yield break;
        }

        switch (field.FieldType)
        {
            case FieldType.String:
                yield return ("invalid UTF-8", Len(n, InvalidUtf8), true);
                yield return ("empty", Len(n, []), false);
                yield return ("1 MiB", Len(n, new byte[HugeString].Fill((byte)'a')), false);
                yield return ("control characters and a NUL", Len(n, "a\0b\r\n\t\u001bc"u8.ToArray()), false);
                break;
            case FieldType.Bytes:
                yield return ("empty", Len(n, []), false);
                yield return ("2 MiB", Len(n, new byte[HugeBytes]), false);
                break;
            case FieldType.Enum:
                yield return ("enum number 999", Varint(n, 999), false);
                yield return ("enum number -1", Varint(n, unchecked((ulong)-1L)), false);
                break;
            case FieldType.Int32 or FieldType.Int64 or FieldType.SInt32 or FieldType.SInt64 or FieldType.SFixed32 or FieldType.SFixed64:
                yield return ("-1", Number(field, -1), false);
                yield return ("the type's minimum", Number(field, field.FieldType is FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 ? long.MinValue : int.MinValue), false);
                yield return ("the type's maximum", Number(field, field.FieldType is FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 ? long.MaxValue : int.MaxValue), false);
                break;
            case FieldType.UInt32 or FieldType.Fixed32:
                yield return ("uint32 maximum", Number(field, uint.MaxValue), false);
                break;
            case FieldType.UInt64 or FieldType.Fixed64:
                yield return ("uint64 maximum", Varint(n, ulong.MaxValue), false);
                break;
            case FieldType.Double or FieldType.Float:
                foreach (var (name, value) in new[] { ("NaN", double.NaN), ("+infinity", double.PositiveInfinity), ("-infinity", double.NegativeInfinity), ("-1", -1.0), ("1e308", 1e308) })
                {
                    yield return (name, field.FieldType == FieldType.Double ? Fixed64(n, BitConverter.DoubleToInt64Bits(value)) : Fixed32(n, BitConverter.SingleToInt32Bits((float)value)), false);
                }
                break;
            case FieldType.Bool:
                yield return ("bool encoded as 2", Varint(n, 2), false);
                break;
            case FieldType.Message when field.MessageType.FullName == "google.protobuf.Duration":
                yield return ("-5 s", Len(n, Varint(1, unchecked((ulong)-5L))), false);
                yield return ("10,000 years and more", Len(n, Varint(1, 315_576_000_001)), false);
                yield return ("int64 maximum seconds", Len(n, Varint(1, long.MaxValue)), false);
                yield return ("seconds and nanos of opposite signs", Len(n, [.. Varint(1, 1), .. Varint(2, unchecked((ulong)-1L))]), false);
                yield return ("nanos over a second", Len(n, Varint(2, 2_000_000_000)), false);
                break;
            case FieldType.Message when depth == 0:
                foreach (var nested in field.MessageType.Fields.InFieldNumberOrder())
                {
                    foreach (var (name, bytes, malformed) in Values(nested, depth + 1))
                    {
                        yield return ($"{nested.Name}: {name}", Len(n, bytes), malformed);
                    }
                }
                break;
        }

        if (field.IsRepeated)
        {
            var element = field.FieldType switch
            {
                FieldType.String or FieldType.Bytes => (Func<int, byte[]>)(i => Len(n, Utf8($"k{i}"))),
                FieldType.Message => _ => Len(n, []),
                _ => _ => Varint(n, 1),
            };
            yield return ($"{ManyEntries} entries", Many(element), false);
        }
    }

    static bool IsLengthDelimited(FieldDescriptor field) =>
        field.FieldType is FieldType.String or FieldType.Bytes or FieldType.Message || field.IsPacked;

    static byte[] Many(Func<int, byte[]> element) => Enumerable.Range(0, ManyEntries).SelectMany(element).ToArray();

    static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    static byte[] Fill(this byte[] bytes, byte value)
    {
        Array.Fill(bytes, value);
        return bytes;
    }

    static byte[] Number(FieldDescriptor field, long value) => field.FieldType switch
    {
        FieldType.SInt32 => Varint(field.FieldNumber, (ulong)(uint)((int)value << 1 ^ (int)value >> 31)),
        FieldType.SInt64 => Varint(field.FieldNumber, (ulong)(value << 1 ^ value >> 63)),
        FieldType.SFixed32 or FieldType.Fixed32 => Fixed32(field.FieldNumber, (int)value),
        FieldType.SFixed64 or FieldType.Fixed64 => Fixed64(field.FieldNumber, value),
        _ => Varint(field.FieldNumber, unchecked((ulong)value)),
    };

    static byte[] Write(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
        }
        return buffer.ToArray();
    }

    static byte[] Varint(int field, ulong value) => Write(o =>
    {
        o.WriteTag(field, WireFormat.WireType.Varint);
        o.WriteUInt64(value);
    });

    static byte[] Fixed32(int field, int value) => Write(o =>
    {
        o.WriteTag(field, WireFormat.WireType.Fixed32);
        o.WriteSFixed32(value);
    });

    static byte[] Fixed64(int field, long value) => Write(o =>
    {
        o.WriteTag(field, WireFormat.WireType.Fixed64);
        o.WriteSFixed64(value);
    });

    static byte[] Len(int field, byte[] value) => Write(o =>
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(value));
    });
}
