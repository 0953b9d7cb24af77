using System.Net;
using System.Net.Sockets;

namespace OrleansGateway.Bench.Scale;

/// <summary>
/// Picks ports on 127.0.0.1 that nothing listens on, scanning upwards from a base below Linux's ephemeral range
/// (32768+), so the bench's own outgoing connections never take one of them between the probe and the bind.
/// </summary>
internal static class FreePorts
{
    public static List<int> Pick(int count, int basePort)
    {
        var ports = new List<int>(count);
        for (var port = basePort; ports.Count < count; port++)
        {
            if (port > 65535)
            {
                throw new InvalidOperationException($"only {ports.Count} of {count} free ports from {basePort} up; lower --base-port");
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
                ports.Add(port);
            }
            catch (SocketException)
            {
                // In use: the next one.
            }
        }

        return ports;
    }
}
