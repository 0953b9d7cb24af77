using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;

namespace OrleansGateway.Proxy.Tls;

/// <summary>The outcome of peeking at the first bytes of a connection.</summary>
public enum ClientHelloStatus
{
    /// <summary>So far a plausible TLS ClientHello, but incomplete: read more and call again with every byte.</summary>
    NeedMoreData,

    /// <summary>The first bytes are not a TLS handshake record (plaintext HTTP, SSH, SSLv2, ...).</summary>
    NotTls,

    /// <summary>Starts like TLS but is malformed, or no complete ClientHello within <see cref="ClientHelloParser.MaxBytes"/>.</summary>
    Invalid,

    /// <summary>A complete, well-formed ClientHello.</summary>
    Found,
}

/// <summary>What routing needs from a ClientHello.</summary>
/// <param name="ServerName">SNI <c>host_name</c>, lower-cased and without a trailing dot; null when the client sent no SNI.</param>
/// <param name="AlpnProtocols">ALPN protocol ids in the client's order (bytes as Latin-1), empty when none.</param>
/// <param name="LegacyVersion">The ClientHello's <c>legacy_version</c> (0x0303 for TLS 1.2 and 1.3).</param>
public sealed record ClientHelloInfo(string? ServerName, ImmutableArray<string> AlpnProtocols, ushort LegacyVersion);

/// <summary>
/// Peeks a TLS ClientHello without consuming it (like Kestrel's TLS listener): the engine keeps every byte it has
/// received and calls <see cref="TryParse"/> again after each read until the status is not
/// <see cref="ClientHelloStatus.NeedMoreData"/>. The ClientHello may be split over several handshake records;
/// their fragments are joined. Every decision other than NeedMoreData is final: more bytes never change it.
/// </summary>
public static class ClientHelloParser
{
    /// <summary>A client that has sent more than this without completing its ClientHello is <see cref="ClientHelloStatus.Invalid"/>.</summary>
    public const int MaxBytes = 16 * 1024;

    private const byte HandshakeRecord = 0x16;
    private const byte ClientHelloType = 0x01;
    private const int RecordHeaderLength = 5;
    private const int HandshakeHeaderLength = 4;

    // RFC 8446 5.1: a TLSPlaintext fragment is at most 2^14 bytes and handshake fragments are never empty.
    private const int MaxRecordLength = 1 << 14;

    private const ushort ServerNameExtension = 0;
    private const ushort AlpnExtension = 16;
    private const byte HostNameType = 0;

    /// <summary>Parses the ClientHello at the start of <paramref name="data"/> (every byte received so far). Never throws.</summary>
    public static ClientHelloStatus TryParse(ReadOnlySpan<byte> data, out ClientHelloInfo? info)
    {
        info = null;
        if (data.IsEmpty)
        {
            return ClientHelloStatus.NeedMoreData;
        }

        // Decided on the first two bytes so that plaintext protocols are handed on at once.
        if (data[0] != HandshakeRecord || (data.Length > 1 && data[1] != 3))
        {
            return ClientHelloStatus.NotTls;
        }

        var extent = FindMessage(data, out var messageLength, out var inFirstRecord);
        if (extent != ClientHelloStatus.Found)
        {
            return extent;
        }

        if (inFirstRecord)
        {
            return ParseMessage(data.Slice(RecordHeaderLength, messageLength), out info);
        }

        // Fragmented over several records: join the fragments (bounded by MaxBytes) in a pooled buffer.
        var joined = ArrayPool<byte>.Shared.Rent(messageLength);
        try
        {
            Gather(data, joined.AsSpan(0, messageLength));
            return ParseMessage(joined.AsSpan(0, messageLength), out info);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <summary>
    /// Walks the handshake records until the whole handshake message is present. Found means complete, with
    /// <paramref name="messageLength"/> = handshake header + body and whether it lies entirely in the first record.
    /// </summary>
    private static ClientHelloStatus FindMessage(ReadOnlySpan<byte> data, out int messageLength, out bool inFirstRecord)
    {
        Span<byte> header = stackalloc byte[HandshakeHeaderLength];
        messageLength = -1;
        inFirstRecord = false;
        var gathered = 0;
        var offset = 0;

        // Each iteration either returns or moves past one whole record of at least 6 bytes, so this is bounded by data.Length.
        while (messageLength < 0 || gathered < messageLength)
        {
            if (offset >= MaxBytes)
            {
                return ClientHelloStatus.Invalid;
            }

            var remaining = data.Length - offset;
            if (remaining > 0 && data[offset] != HandshakeRecord)
            {
                // Another content type (alert, application data, ...) before the ClientHello is complete.
                return ClientHelloStatus.Invalid;
            }

            if (remaining > 1 && data[offset + 1] != 3)
            {
                return ClientHelloStatus.Invalid;
            }

            if (remaining < RecordHeaderLength)
            {
                return data.Length > MaxBytes ? ClientHelloStatus.Invalid : ClientHelloStatus.NeedMoreData;
            }

            int recordLength = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(offset + 3, 2));
            if (recordLength is 0 or > MaxRecordLength)
            {
                return ClientHelloStatus.Invalid;
            }

            var fragmentStart = offset + RecordHeaderLength;
            var available = Math.Min(recordLength, data.Length - fragmentStart);
            var before = gathered;
            if (messageLength < 0)
            {
                // The 4-byte handshake header may itself be split over records.
                var headerBytes = Math.Min(available, HandshakeHeaderLength - before);
                data.Slice(fragmentStart, headerBytes).CopyTo(header[before..]);
                if (before == 0 && headerBytes > 0 && header[0] != ClientHelloType)
                {
                    return ClientHelloStatus.Invalid;
                }

                if (before + headerBytes < HandshakeHeaderLength)
                {
                    if (available < recordLength)
                    {
                        return data.Length > MaxBytes ? ClientHelloStatus.Invalid : ClientHelloStatus.NeedMoreData;
                    }

                    gathered += available;
                    offset = fragmentStart + recordLength;
                    continue;
                }

                messageLength = HandshakeHeaderLength + ((header[1] << 16) | (header[2] << 8) | header[3]);
            }

            var wanted = Math.Min(recordLength, messageLength - before);

            // Either the message ends in this record past the limit, or this record ends past it and the message
            // needs more: in both cases no complete ClientHello can arrive within MaxBytes.
            if (fragmentStart + wanted > MaxBytes)
            {
                return ClientHelloStatus.Invalid;
            }

            if (available < wanted)
            {
                return ClientHelloStatus.NeedMoreData;
            }

            gathered = before + wanted;
            if (offset == 0)
            {
                inFirstRecord = gathered == messageLength;
            }

            offset = fragmentStart + recordLength;
        }

        return ClientHelloStatus.Found;
    }

    /// <summary>Copies the handshake fragments (already validated by <see cref="FindMessage"/>) into <paramref name="destination"/>.</summary>
    private static void Gather(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var offset = 0;
        var written = 0;
        while (written < destination.Length)
        {
            int recordLength = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(offset + 3, 2));
            var take = Math.Min(recordLength, destination.Length - written);
            data.Slice(offset + RecordHeaderLength, take).CopyTo(destination[written..]);
            written += take;
            offset += RecordHeaderLength + recordLength;
        }
    }

    /// <summary>Parses a complete ClientHello handshake message (RFC 8446 4.1.2, RFC 5246 7.4.1.2).</summary>
    private static ClientHelloStatus ParseMessage(ReadOnlySpan<byte> message, out ClientHelloInfo? info)
    {
        info = null;
        var body = new Reader(message[HandshakeHeaderLength..]);
        if (!body.TryReadUInt16(out var legacyVersion)
            || !body.TrySkip(32)                                   // random
            || !body.TryReadVector8(out var sessionId) || sessionId.Length > 32
            || !body.TryReadVector16(out var cipherSuites) || cipherSuites.Length < 2 || cipherSuites.Length % 2 != 0
            || !body.TryReadVector8(out var compression) || compression.Length < 1)
        {
            return ClientHelloStatus.Invalid;
        }

        ReadOnlySpan<byte> serverName = default;
        ReadOnlySpan<byte> alpn = default;
        bool hasServerName = false, hasAlpn = false;

        // Pre-TLS-1.2 clients may omit the extensions block altogether.
        if (!body.IsEmpty)
        {
            if (!body.TryReadVector16(out var extensionBlock) || !body.IsEmpty)
            {
                return ClientHelloStatus.Invalid;
            }

            var extensions = new Reader(extensionBlock);
            while (!extensions.IsEmpty)
            {
                if (!extensions.TryReadUInt16(out var type) || !extensions.TryReadVector16(out var content))
                {
                    return ClientHelloStatus.Invalid;
                }

                // RFC 8446 4.2: at most one extension of each type; a second SNI or ALPN would be ambiguous to route.
                if (type == ServerNameExtension)
                {
                    if (hasServerName)
                    {
                        return ClientHelloStatus.Invalid;
                    }

                    hasServerName = true;
                    serverName = content;
                }
                else if (type == AlpnExtension)
                {
                    if (hasAlpn)
                    {
                        return ClientHelloStatus.Invalid;
                    }

                    hasAlpn = true;
                    alpn = content;
                }
            }
        }

        string? host = null;
        if (hasServerName && !TryReadHostName(serverName, out host))
        {
            return ClientHelloStatus.Invalid;
        }

        var protocols = ImmutableArray<string>.Empty;
        if (hasAlpn && !TryReadAlpn(alpn, out protocols))
        {
            return ClientHelloStatus.Invalid;
        }

        info = new ClientHelloInfo(host, protocols, legacyVersion);
        return ClientHelloStatus.Found;
    }

    /// <summary>RFC 6066 3: a ServerNameList with at most one host_name; other name types are skipped.</summary>
    private static bool TryReadHostName(ReadOnlySpan<byte> extension, out string? host)
    {
        host = null;
        var outer = new Reader(extension);
        if (!outer.TryReadVector16(out var list) || !outer.IsEmpty || list.IsEmpty)
        {
            return false;
        }

        var names = new Reader(list);
        ReadOnlySpan<byte> hostName = default;
        var found = false;
        while (!names.IsEmpty)
        {
            if (!names.TryReadByte(out var nameType) || !names.TryReadVector16(out var name))
            {
                return false;
            }

            if (nameType == HostNameType)
            {
                if (found)
                {
                    return false;
                }

                found = true;
                hostName = name;
            }
        }

        if (!found)
        {
            return true;
        }

        if (hostName.Length > 0 && hostName[^1] == (byte)'.')
        {
            hostName = hostName[..^1];
        }

        if (!IsDnsName(hostName))
        {
            return false;
        }

        host = string.Create(hostName.Length, hostName, static (chars, bytes) =>
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                chars[i] = (char)(bytes[i] is >= (byte)'A' and <= (byte)'Z' ? bytes[i] + 32 : bytes[i]);
            }
        });
        return true;
    }

    /// <summary>
    /// ASCII labels of 1..63 letters, digits, hyphens (not at either end) or underscores, 253 characters at most.
    /// Underscores are allowed because they are legal DNS names (e.g. <c>_acme.example.com</c>) and OpenSSL and
    /// Envoy accept them in SNI; anything non-ASCII (an unencoded IDN) is refused: clients must send A-labels.
    /// </summary>
    private static bool IsDnsName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > 253)
        {
            return false;
        }

        var labelLength = 0;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == (byte)'.')
            {
                if (labelLength == 0 || name[i - 1] == (byte)'-')
                {
                    return false;
                }

                labelLength = 0;
                continue;
            }

            var valid = c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                or (byte)'_' or (byte)'-';
            if (!valid || (c == (byte)'-' && labelLength == 0) || ++labelLength > 63)
            {
                return false;
            }
        }

        return name[^1] is not (byte)'-' and not (byte)'.';
    }

    /// <summary>RFC 7301 3.1: a non-empty list of non-empty protocol ids.</summary>
    private static bool TryReadAlpn(ReadOnlySpan<byte> extension, out ImmutableArray<string> protocols)
    {
        protocols = [];
        var outer = new Reader(extension);
        if (!outer.TryReadVector16(out var list) || !outer.IsEmpty || list.IsEmpty)
        {
            return false;
        }

        // Two passes so that the result is the only allocation: validate and count, then decode.
        var count = 0;
        var counter = new Reader(list);
        while (!counter.IsEmpty)
        {
            if (!counter.TryReadVector8(out var id) || id.IsEmpty)
            {
                return false;
            }

            count++;
        }

        var result = new string[count];
        var reader = new Reader(list);
        for (var i = 0; i < count; i++)
        {
            reader.TryReadVector8(out var id);
            result[i] = Encoding.Latin1.GetString(id);
        }

        protocols = ImmutableCollectionsMarshal.AsImmutableArray(result);
        return true;
    }

    /// <summary>A bounds-checked big-endian cursor; every read fails instead of throwing when the data runs out.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public readonly bool IsEmpty => _rest.IsEmpty;

        public bool TryReadByte(out byte value)
        {
            value = 0;
            if (_rest.IsEmpty)
            {
                return false;
            }

            value = _rest[0];
            _rest = _rest[1..];
            return true;
        }

        public bool TryReadUInt16(out ushort value)
        {
            value = 0;
            if (_rest.Length < 2)
            {
                return false;
            }

            value = BinaryPrimitives.ReadUInt16BigEndian(_rest);
            _rest = _rest[2..];
            return true;
        }

        public bool TrySkip(int count)
        {
            if (_rest.Length < count)
            {
                return false;
            }

            _rest = _rest[count..];
            return true;
        }

        public bool TryReadVector8(out ReadOnlySpan<byte> value)
        {
            value = default;
            return TryReadByte(out var length) && TryTake(length, out value);
        }

        public bool TryReadVector16(out ReadOnlySpan<byte> value)
        {
            value = default;
            return TryReadUInt16(out var length) && TryTake(length, out value);
        }

        private bool TryTake(int length, out ReadOnlySpan<byte> value)
        {
            value = default;
            if (_rest.Length < length)
            {
                return false;
            }

            value = _rest[..length];
            _rest = _rest[length..];
            return true;
        }
    }
}
