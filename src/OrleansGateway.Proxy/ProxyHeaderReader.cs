using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace OrleansGateway.Proxy;

/// <summary>
/// What reading a PROXY protocol header gave: the header and the client's bytes read after it (which the ClientHello
/// inspection or the upstream must see first), or the refusal's reason and detail.
/// </summary>
internal readonly record struct ProxyHeaderResult(ProxyHeader Header, byte[]? AlreadyRead, CloseReason? Refusal, string? Detail)
{
    public static ProxyHeaderResult Refuse(CloseReason reason, string detail) => new(default, null, reason, detail);
}

/// <summary>
/// Reads the PROXY protocol header a listener whose stack has PROXY requires (docs/data-plane.md, "PROXY protocol"):
/// checks the peer against the trusted networks first, then reads into a pooled buffer of
/// <see cref="ProxyProtocol.MaxHeaderLength"/> bytes until <see cref="ProxyProtocol.TryParse"/> decides, within the
/// connection's handshake deadline. Decides only: counting, logging and closing are the connection's.
/// </summary>
internal static class ProxyHeaderReader
{
    public static async Task<ProxyHeaderResult> ReadAsync(Socket client, EndPoint? peer, ProxyRuntime runtime, CancellationToken deadline)
    {
        if (!IsTrusted(peer, runtime.Options))
        {
            return ProxyHeaderResult.Refuse(CloseReason.ProxyPeerUntrusted, "the peer is not in --proxy-protocol-trusted, so it may not send a PROXY protocol header");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ProxyProtocol.MaxHeaderLength);
        try
        {
            var filled = 0;
            while (true)
            {
                int read;
                try
                {
                    read = await client.ReceiveAsync(buffer.AsMemory(filled, ProxyProtocol.MaxHeaderLength - filled), SocketFlags.None, deadline)
                        .ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested)
                {
                    return ProxyHeaderResult.Refuse(CloseReason.ProxyHeaderTimeout,
                        $"no complete PROXY protocol header within {runtime.Options.HandshakeTimeout} ({filled} bytes received)");
                }
                catch (SocketException e)
                {
                    return ProxyHeaderResult.Refuse(CloseReason.ClientReset, $"while reading the PROXY protocol header: {e.SocketErrorCode}");
                }

                if (read == 0)
                {
                    return ProxyHeaderResult.Refuse(CloseReason.ProxyHeaderInvalid,
                        filled == 0 ? "closed without a PROXY protocol header" : $"PROXY protocol header truncated: closed after {filled} bytes");
                }

                filled += read;
                var status = ProxyProtocol.TryParse(buffer.AsSpan(0, filled), out var header, out var consumed, out var problem);
                switch (status)
                {
                    case ProxyHeaderStatus.Valid:
                        return new ProxyHeaderResult(header, filled > consumed ? buffer.AsSpan(consumed, filled - consumed).ToArray() : null, null, null);
                    case ProxyHeaderStatus.Invalid:
                        return ProxyHeaderResult.Refuse(CloseReason.ProxyHeaderInvalid, problem!);
                    default:
                        // TryParse refuses anything longer than the bound, so a full buffer never asks for more.
                        continue;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Any peer when no trusted network is configured; otherwise one inside a trusted network (IPv4-mapped unwrapped).</summary>
    public static bool IsTrusted(EndPoint? peer, ProxyOptions options)
    {
        if (options.ProxyProtocolTrustedNetworks.IsDefaultOrEmpty)
        {
            return true;
        }

        if (peer is not IPEndPoint ip)
        {
            return false;
        }

        var address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        foreach (var network in options.ProxyProtocolTrustedNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
