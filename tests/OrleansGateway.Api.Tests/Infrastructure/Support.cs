using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansGateway.Api.Tests.Infrastructure;

/// <summary>A TCP echo upstream on loopback, serving until disposed; it counts its connections.</summary>
internal sealed class EchoUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[]? _greeting;
    private readonly Task _loop;
    private int _connections;

    /// <param name="greeting">Sent on each connection before the echo, so a client can tell which upstream it reached.</param>
    public EchoUpstream(string? greeting = null)
    {
        _greeting = greeting is null ? null : Encoding.UTF8.GetBytes(greeting);
        _listener.Start();
        _loop = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections => Volatile.Read(ref _connections);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The accept loop ends by cancellation.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _connections);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        if (_greeting is not null)
                        {
                            await client.GetStream().WriteAsync(_greeting, _stop.Token);
                        }

                        await client.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                        client.Client.Shutdown(SocketShutdown.Send);
                    }
                    catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                    {
                        // The client went away.
                    }
                }
            });
        }
    }

    /// <summary>Sends <paramref name="text"/> to <paramref name="port"/>, half-closes and reads the echo; null when refused or closed.</summary>
    public static async Task<string?> TryEchoAsync(int port, string text)
    {
        try
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
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }
}

internal static class Yaml
{
    public static string TcpMapping(string name, int port, string service, string? extra = null) => $"""
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: {name}
        spec:
          port: {port}
          service: {service}
        {extra}
        """;
}
