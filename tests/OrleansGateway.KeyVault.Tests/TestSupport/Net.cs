using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace OrleansGateway.KeyVault.Tests.TestSupport;

/// <summary>Loopback helpers: TLS clients that report the certificate they were served.</summary>
public static class Net
{
    /// <summary>A TLS connection through the gateway: the served certificate's thumbprint and the open stream.</summary>
    public static async Task<(string Thumbprint, SslStream Stream)> ConnectAsync(int port, string sni)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var tls = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }).WaitAsync(TimeSpan.FromSeconds(10));
        return (new X509Certificate2(tls.RemoteCertificate!).Thumbprint, tls);
    }

    /// <summary>Writes <paramref name="text"/> and reads the same bytes back (through the echo upstream).</summary>
    public static async Task EchoAsync(SslStream stream, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        await stream.WriteAsync(bytes);
        var back = new byte[bytes.Length];
        await stream.ReadExactlyAsync(back).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(text, Encoding.ASCII.GetString(back));
    }

    /// <summary>
    /// For each host, handshakes until the gateway has refused several in a row; fails as soon as one is served a
    /// certificate whose thumbprint is in <paramref name="forbidden"/> (a certificate this host must never get).
    /// </summary>
    public static async Task AssertRefusedAndNeverServedAsync(int port, IEnumerable<string> hosts, IReadOnlySet<string> forbidden)
    {
        foreach (var host in hosts)
        {
            var refusals = 0;
            string? leaked = null;
            await Eventually.Until(async () =>
            {
                try
                {
                    var served = await HandshakeAsync(port, host);
                    if (forbidden.Contains(served))
                    {
                        leaked = served;
                        return true;
                    }

                    refusals = 0;
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or SocketException or TimeoutException)
                {
                    refusals++;
                }

                return refusals >= 5;
            }, $"handshakes for {host} to be refused");
            Assert.True(leaked is null, $"a handshake for {host} was served the forbidden certificate {leaked}");
        }
    }

    /// <summary>A handshake and one echo; the thumbprint of the certificate served.</summary>
    public static async Task<string> HandshakeAsync(int port, string sni)
    {
        var (thumbprint, stream) = await ConnectAsync(port, sni);
        await using (stream)
        {
            await EchoAsync(stream, "hello");
            return thumbprint;
        }
    }
}

/// <summary>An upstream that echoes every byte until the client closes.</summary>
public sealed class EchoUpstream : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public EchoUpstream()
    {
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        var buffer = new byte[4096];
                        int read;
                        while ((read = await socket.ReceiveAsync(buffer)) > 0)
                        {
                            await socket.SendAsync(buffer.AsMemory(0, read));
                        }
                    }
                });
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
