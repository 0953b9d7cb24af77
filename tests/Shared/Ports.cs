using System.Net;
using System.Net.Sockets;

namespace OrleansGateway.Testing;

/// <summary>
/// Free TCP ports for tests that must name a port before something binds it (a listener in a plan, a silo port on a
/// command line): the one free-port helper of the test projects, linked into each of them from tests/Shared.
/// </summary>
/// <remarks>
/// <para>A port is handed out at most once per test process, so two tests running side by side never get the same one.</para>
/// <para>
/// Ports come from <see cref="Low"/> to <see cref="High"/>, below the kernel's ephemeral range (Linux: 32768-60999) from
/// which every socket bound to port 0 and every outgoing connection takes its port, so that no echo upstream or client
/// of a test running beside this one can take the port before the test binds it. The range also stays clear of the
/// ports Orleans' test clusters allocate (22300-30000, 40000-50000), of the defaults 10000-10002 (Azurite) and 11111
/// (silo), and of the 18xxx numbers the grain tests use as data. Each port is checked bindable on every address before
/// it is handed out; another process may still bind it in between, a race this helper cannot close.
/// </para>
/// </remarks>
internal static class Ports
{
    public const int Low = 12000;
    public const int High = 18000;

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A port nothing listens on now and that this process has not handed out before.</summary>
    public static int Free()
    {
        lock (HandedOut)
        {
            // A random start, so that test processes running at the same time rarely probe the same ports.
            var start = Random.Shared.Next(Low, High);
            for (var i = 0; i < High - Low; i++)
            {
                var port = Low + ((start - Low + i) % (High - Low));
                if (!HandedOut.Contains(port) && IsBindable(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"every port from {Low} to {High - 1} is taken or was handed out already in this test run");
    }

    /// <summary>A single-process silo on memory storage and free silo and gateway ports, so tests run side by side.</summary>
    public static string[] SiloArgs() => ["--storage", "memory", .. ClusterArgs()];

    /// <summary>Localhost clustering on free silo and gateway ports.</summary>
    public static string[] ClusterArgs() => ["--clustering", "localhost", "--silo-port", $"{Free()}", "--gateway-port", $"{Free()}"];

    private static bool IsBindable(int port)
    {
        try
        {
            using var v4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            v4.Bind(new IPEndPoint(IPAddress.Any, port));
            if (Socket.OSSupportsIPv6)
            {
                using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = false };
                v6.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
            }

            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            return false;
        }
    }
}
