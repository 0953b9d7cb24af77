using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace OrleansGateway.Testing;

/// <summary>Clients that send bytes through the gateway and read the echo back (tests/Shared: every test project uses them).</summary>
internal static class Traffic
{
    /// <summary>Sends <paramref name="text"/>, half-closes, and returns everything read until the peer closes.</summary>
    public static async Task<string> EchoAsync(int port, string text)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text), timeout.Token);
        client.Client.Shutdown(SocketShutdown.Send);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(timeout.Token);
    }

    /// <summary>The echo, or null when the gateway refused or closed the connection.</summary>
    public static async Task<string?> TryEchoAsync(int port, string text)
    {
        try
        {
            return await EchoAsync(port, text);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>TLS with SNI <paramref name="host"/>; the server must present exactly <paramref name="pinned"/>.</summary>
    public static async Task<string> TlsEchoAsync(int port, string host, X509Certificate2 pinned, string text)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = host,
                // The dev certificate is self-signed: trust exactly it, nothing else.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.GetCertHashString() == pinned.GetCertHashString(),
            },
            timeout.Token);
        var bytes = Encoding.UTF8.GetBytes(text);
        await tls.WriteAsync(bytes, timeout.Token);
        var received = new byte[bytes.Length];
        await tls.ReadExactlyAsync(received, timeout.Token);
        return Encoding.UTF8.GetString(received);
    }
}
