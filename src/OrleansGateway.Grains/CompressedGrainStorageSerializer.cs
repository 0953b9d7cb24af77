using System.Buffers.Binary;
using System.IO.Compression;
using Orleans.Storage;

namespace OrleansGateway.Grains;

/// <summary>
/// Grain state as Brotli-compressed bytes of another serializer's output. A tenant's state holds every resource
/// with its status: 10,000 TCPMappings are several MB serialized, far over what one Azure Table entity takes
/// (1 MiB; Orleans' table provider splits binary state over at most 15 properties of 64 KiB), while the same state
/// compressed is a few hundred KB because resources repeat the same field names, namespaces and services
/// (docs/control-plane.md, "State size"). The listener grain of a big SNI port benefits the same way.
/// </summary>
/// <remarks>
/// Layout: the magic <c>OGZ1</c>, the uncompressed length (int32, little endian), the Brotli stream. State written
/// before this serializer (the inner serializer's bytes as they are) is still read: it does not start with the magic.
/// </remarks>
public sealed class CompressedGrainStorageSerializer(IGrainStorageSerializer inner, int? maxStoredBytes = null) : IGrainStorageSerializer
{
    /// <summary>What Orleans' Azure Table provider stores in one entity: 15 binary properties of 64 KiB.</summary>
    public const int AzureTableMaxStateBytes = 15 * 64 * 1024;

    private static ReadOnlySpan<byte> Magic => "OGZ1"u8;
    private const int HeaderLength = 8;

    // Quality 4: about ten times faster than the maximum (11) and within a few percent of its size on this JSON-heavy state.
    private const int Quality = 4;
    private const int Window = 22;

    public BinaryData Serialize<T>(T? input)
    {
        var raw = inner.Serialize(input).ToMemory().Span;
        var output = new byte[HeaderLength + BrotliEncoder.GetMaxCompressedLength(raw.Length)];
        Magic.CopyTo(output);
        BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(Magic.Length), raw.Length);
        if (!BrotliEncoder.TryCompress(raw, output.AsSpan(HeaderLength), out var written, Quality, Window))
        {
            throw new InvalidOperationException($"could not compress the grain state of {typeof(T).Name} ({raw.Length} bytes).");
        }

        var stored = HeaderLength + written;
        if (stored > maxStoredBytes)
        {
            // Said here, with the sizes, instead of the storage provider's generic "data too large".
            throw new InvalidOperationException(
                $"the grain state of {typeof(T).Name} is {stored} bytes compressed ({raw.Length} bytes uncompressed), over the " +
                $"{maxStoredBytes} bytes one Azure Table entity can hold. Split the resources over several tenants, or delete some.");
        }

        return new BinaryData(output.AsMemory(0, stored));
    }

    public T? Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return inner.Deserialize<T>(new BinaryData(Unpack(input.ToMemory(), typeof(T).Name)));
    }

    /// <summary>
    /// The inner serializer's bytes of a stored state: decompressed when it starts with the header, as they are
    /// otherwise (state written before this serializer). Also what tests read to look into stored state.
    /// </summary>
    public static ReadOnlyMemory<byte> Unpack(ReadOnlyMemory<byte> stored, string what = "a grain")
    {
        if (stored.Length < HeaderLength || !stored.Span.StartsWith(Magic))
        {
            return stored;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(stored.Span[Magic.Length..]);
        var raw = new byte[length];
        if (!BrotliDecoder.TryDecompress(stored.Span[HeaderLength..], raw, out var written) || written != length)
        {
            throw new InvalidDataException($"the stored grain state of {what} is not a complete compressed record " +
                $"({stored.Length} bytes, {written} of {length} bytes decompressed); the storage entry is damaged.");
        }

        return raw;
    }
}
