using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace OrleansGateway.Proxy.Tests.Tls;

/// <summary>A real TLS handshake between two SslStreams over a connected loopback TCP pair.</summary>
internal sealed class TlsLoopback : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private TlsLoopback(SslStream client, SslStream server, Exception? clientError, Exception? serverError)
    {
        Client = client;
        Server = server;
        ClientError = clientError;
        ServerError = serverError;
    }

    public SslStream Client { get; }
    public SslStream Server { get; }
    public Exception? ClientError { get; }
    public Exception? ServerError { get; }

    public static async Task<TlsLoopback> HandshakeAsync(SslClientAuthenticationOptions clientOptions, SslServerAuthenticationOptions serverOptions)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptSocketAsync();
        await clientSocket.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var serverSocket = await accept;

        var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
        var server = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
        using var cts = new CancellationTokenSource(Deadline);
        var serverTask = Run(server.AuthenticateAsServerAsync(serverOptions, cts.Token), server);
        var clientTask = Run(client.AuthenticateAsClientAsync(clientOptions, cts.Token), client);
        return new TlsLoopback(client, server, await clientTask, await serverTask);
    }

    /// <summary>The handshake error, if any; a failed side is closed so that the other does not wait for it.</summary>
    private static async Task<Exception?> Run(Task handshake, SslStream stream)
    {
        try
        {
            await handshake;
            return null;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            await stream.DisposeAsync();
            return e;
        }
    }

    /// <summary>Both sides completed and bytes flow both ways.</summary>
    public async Task AssertConnectedAsync()
    {
        Assert.Null(ClientError);
        Assert.Null(ServerError);
        using var cts = new CancellationTokenSource(Deadline);
        await Client.WriteAsync("ping"u8.ToArray(), cts.Token);
        var buffer = new byte[4];
        await Server.ReadExactlyAsync(buffer, cts.Token);
        Assert.Equal("ping"u8.ToArray(), buffer);
        await Server.WriteAsync("pong"u8.ToArray(), cts.Token);
        await Client.ReadExactlyAsync(buffer, cts.Token);
        Assert.Equal("pong"u8.ToArray(), buffer);
    }

    /// <summary>
    /// The server refused the handshake. With TLS 1.3 the client may believe it finished (it sends its certificate last),
    /// so for the client it is enough that no byte from the server ever arrives.
    /// </summary>
    public async Task AssertServerRefusedAsync()
    {
        Assert.IsType<AuthenticationException>(ServerError, exactMatch: false);
        if (ClientError is not null)
        {
            return;
        }

        using var cts = new CancellationTokenSource(Deadline);
        try
        {
            Assert.Equal(0, await Client.ReadAsync(new byte[1], cts.Token));
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            // The alert or the reset surfaced as an error: refused as well.
        }
    }

    /// <summary>The client refused the server (or the handshake failed on both sides).</summary>
    public void AssertClientRefused()
    {
        Assert.IsType<AuthenticationException>(ClientError, exactMatch: false);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
