using System.Net;
using System.Net.Sockets;

namespace OrleansGateway.Proxy.Tests.Infrastructure;

internal static class Net
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var s = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(Deadline);
        await s.ConnectAsync(endPoint, cts.Token);
        return s;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (fails on EOF or after the deadline).</summary>
    public static async Task<byte[]> ReadExactlyAsync(Socket s, int count)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(Deadline);
        var filled = 0;
        while (filled < count)
        {
            var n = await s.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"EOF after {filled} of {count} bytes");
            }

            filled += n;
        }

        return buffer;
    }

    /// <summary>Reads until EOF; returns everything read.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket s)
    {
        using var cts = new CancellationTokenSource(Deadline);
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
        {
            all.Write(buffer, 0, n);
        }

        return all.ToArray();
    }

    /// <summary>How the peer ended the connection as seen by a reader: EOF (FIN), reset (RST), or data that came first.</summary>
    public static async Task<string> ObserveEndAsync(Socket s)
    {
        using var cts = new CancellationTokenSource(Deadline);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return "eof";
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return "reset";
        }
    }

    public static async Task RoundTripAsync(Socket s, int size = 16)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        await s.SendAsync(data);
        var back = await ReadExactlyAsync(s, size);
        Assert.Equal(data, back);
    }

    /// <summary>True when a new connection to <paramref name="endPoint"/> is refused.</summary>
    public static async Task<bool> IsRefusedAsync(IPEndPoint endPoint)
    {
        using var s = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var cts = new CancellationTokenSource(Deadline);
            await s.ConnectAsync(endPoint, cts.Token);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }

    /// <summary>The reason a test that needs IPv6 reports when it is skipped.</summary>
    public const string NoIpv6Loopback = "this machine cannot bind the IPv6 loopback address ::1";

    public static bool Ipv6LoopbackAvailable()
    {
        if (!Socket.OSSupportsIPv6)
        {
            return false;
        }

        try
        {
            using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
