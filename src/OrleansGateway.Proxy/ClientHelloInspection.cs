using System.Buffers;
using System.Net.Sockets;
using OrleansGateway.Proxy.Tls;

namespace OrleansGateway.Proxy;

/// <summary>
/// The route a new connection takes, or why it takes none. <see cref="AlreadyRead"/>: the client's bytes read to decide,
/// which whoever serves the route must see first (the upstream of a passthrough, or the TLS termination).
/// <see cref="Hello"/>: the parsed ClientHello when there was one, also on a refusal (the access log names its SNI).
/// </summary>
internal readonly record struct RouteDecision(RouteEntry? Route, byte[]? AlreadyRead, ClientHelloInfo? Hello, CloseReason Refusal, string? Detail)
{
    public static RouteDecision Take(RouteEntry route, byte[]? alreadyRead = null, ClientHelloInfo? hello = null) => new(route, alreadyRead, hello, default, null);

    public static RouteDecision Refuse(CloseReason reason, string detail, ClientHelloInfo? hello = null) => new(null, null, hello, reason, detail);
}

/// <summary>
/// How a new connection's route is chosen (docs/data-plane.md, "Routing lookup"). A cleartext listener sends everything
/// to its catch-all. A TLS-inspecting one reads the ClientHello (keeping the bytes) and routes by SNI; a client that stays
/// silent goes to the catch-all (server-first protocols), and one that sends half a ClientHello, garbage or more than
/// <see cref="ClientHelloParser.MaxBytes"/> gets the catch-all or nothing, within the handshake deadline. Decides only:
/// counting, logging and closing are the connection's.
/// </summary>
internal static class ClientHelloInspection
{
    /// <summary>TLS alert record: fatal (2), unrecognized_name (112). Tells a TLS client why, without a certificate.</summary>
    private static readonly byte[] UnrecognizedNameAlert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70];

    /// <summary>A listener that does not inspect TLS: its catch-all, synchronously.</summary>
    public static RouteDecision Cleartext(ListenerSnapshot snapshot)
        => snapshot.CatchAll is { } route ? RouteDecision.Take(route) : RouteDecision.Refuse(CloseReason.NoRoute, "the listener has no route");

    /// <summary>
    /// Reads the ClientHello into a pooled buffer until it parses (or cannot), within <paramref name="handshakeToken"/>,
    /// and decides by SNI. A client left without a route gets an <c>unrecognized_name</c> alert.
    /// </summary>
    /// <param name="early">The client's bytes already read after a PROXY protocol header: the ClientHello's start (the
    /// client has spoken, so there is no server-first wait).</param>
    public static async Task<RouteDecision> InspectAsync(Socket client, ListenerSnapshot snapshot, ProxyRuntime runtime, CancellationToken handshakeToken,
        byte[]? early = null)
    {
        if (early is null && snapshot.CatchAll is { } catchAll && await WaitForClientAsync(client, catchAll, runtime).ConfigureAwait(false) is { } silent)
        {
            return silent;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ClientHelloParser.MaxBytes);
        try
        {
            // The PROXY header reader's buffer is smaller than this one, so the early bytes always fit.
            early?.CopyTo(buffer, 0);
            var filled = early?.Length ?? 0;
            while (true)
            {
                // Parsed before each read (the early bytes may hold the whole ClientHello) and after every read.
                if (filled > 0)
                {
                    var status = ClientHelloParser.TryParse(buffer.AsSpan(0, filled), out var hello);
                    if (status != ClientHelloStatus.NeedMoreData || filled >= ClientHelloParser.MaxBytes)
                    {
                        var decision = Decide(snapshot, status, hello, buffer.AsSpan(0, filled).ToArray());
                        if (decision.Route is null && status == ClientHelloStatus.Found)
                        {
                            await SendAlertAsync(client).ConfigureAwait(false);
                        }

                        return decision;
                    }
                }

                int read;
                try
                {
                    read = await client.ReceiveAsync(buffer.AsMemory(filled, ClientHelloParser.MaxBytes - filled), SocketFlags.None, handshakeToken)
                        .ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (handshakeToken.IsCancellationRequested)
                {
                    return RouteDecision.Refuse(CloseReason.HandshakeTimeout,
                        $"no complete ClientHello within {runtime.Options.HandshakeTimeout} ({filled} bytes received)");
                }
                catch (SocketException e)
                {
                    return RouteDecision.Refuse(CloseReason.ClientReset, $"while reading the ClientHello: {e.SocketErrorCode}");
                }

                if (read == 0)
                {
                    return RouteDecision.Refuse(CloseReason.ClientGone, $"closed after {filled} bytes, before a complete ClientHello");
                }

                filled += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The SNI rules once the client's first bytes are in: a ClientHello goes to its SNI's route (exact, then wildcard,
    /// then <c>*</c>: <see cref="SniRouter"/>), else to the catch-all, else nowhere. Bytes that are not a usable
    /// ClientHello (not TLS, malformed, oversized) go to the catch-all or nowhere.
    /// </summary>
    private static RouteDecision Decide(ListenerSnapshot snapshot, ClientHelloStatus status, ClientHelloInfo? hello, byte[] alreadyRead)
    {
        var catchAll = snapshot.CatchAll;
        if (status == ClientHelloStatus.Found)
        {
            var sni = hello!.ServerName;
            return (snapshot.Router.Find(sni) ?? catchAll) is { } route
                ? RouteDecision.Take(route, alreadyRead, hello)
                : RouteDecision.Refuse(CloseReason.NoRoute, sni is null ? "ClientHello without SNI and no route for it" : $"no route for SNI '{sni}'", hello);
        }

        return catchAll is not null
            ? RouteDecision.Take(catchAll, alreadyRead)
            : RouteDecision.Refuse(CloseReason.NoRoute,
                status == ClientHelloStatus.NotTls ? "not TLS on a TLS-only port" : "malformed or oversized ClientHello on a TLS-only port");
    }

    /// <summary>
    /// Null once the client speaks. A client silent for <see cref="ProxyOptions.ServerFirstPeekTimeout"/> speaks a
    /// server-first protocol (SSH, MySQL, SMTP): it goes to the catch-all. One that went away is refused.
    /// </summary>
    private static async Task<RouteDecision?> WaitForClientAsync(Socket client, RouteEntry catchAll, ProxyRuntime runtime)
    {
        using var silence = new CancellationTokenSource(runtime.Options.ServerFirstPeekTimeout, runtime.Time);
        try
        {
            // Zero-byte receive: waits for data without consuming it.
            await client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, silence.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException)
        {
            return RouteDecision.Take(catchAll);
        }
        catch (SocketException e)
        {
            return RouteDecision.Refuse(CloseReason.ClientReset, $"before sending anything: {e.SocketErrorCode}");
        }
    }

    private static async Task SendAlertAsync(Socket client)
    {
        try
        {
            await client.SendAsync(UnrecognizedNameAlert, SocketFlags.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client left already; the alert is a courtesy.
        }
    }
}
