using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Resources;
using OrleansGateway.Proxy;

namespace OrleansGateway.Grains.Tests;

/// <summary>From tenant apply to bytes on a real socket: grains → edge cache → data plane, with real TLS.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EndToEndTests(GatewayClusterFixture fixture)
{
    [Fact]
    public async Task Two_tenants_with_a_same_named_Secret_each_get_their_own_certificate_and_upstream_on_one_port()
    {
        using var upstreamA = new MarkerUpstream("from-a");
        using var upstreamB = new MarkerUpstream("from-b");
        var port = Ports.Free();

        var a = await ApplyTenantAsync("t-e2e-a", "a.e2e.test", port, upstreamA.Port);
        var b = await ApplyTenantAsync("t-e2e-b", "b.e2e.test", port, upstreamB.Port);

        await using var proxy = new ProxyServer(new ProxyOptions(), NullLoggerFactory.Instance);
        var edge = new EdgeRouteCache(fixture.Silo(1), GatewayClusterFixture.AmbassadorId,
            (snapshot, ct) => proxy.ApplyAsync(snapshot.Plan, snapshot.Certificates, ct), NullLogger<EdgeRouteCache>.Instance);
        await using (edge)
        {
            edge.Start();
            await Eventually.Get(() => Task.FromResult(edge.Current),
                s => s?.Plan.Listeners.SingleOrDefault(l => l.Endpoint.Port == port)?.SniRoutes.Length == 2, what: "both tenants' routes at the edge");

            Assert.Equal(("from-a", a.Thumbprint), await ConnectAsync(port, "a.e2e.test"));
            Assert.Equal(("from-b", b.Thumbprint), await ConnectAsync(port, "b.e2e.test"));
        }
    }

    private async Task<X509Certificate2> ApplyTenantAsync(string tenant, string host, int port, int upstreamPort)
    {
        var (crt, key, certificate) = Res.SelfSigned(host);
        var outcome = await fixture.Silo(0).GetTenantGrain(tenant).ApplyAsync(Res.Strict(
            new SecretResource { Name = "tls", ApiVersion = "v1", Type = "kubernetes.io/tls", TlsCrt = crt, TlsKey = key },
            new HostResource { Name = "host", Hostname = host, TlsSecretName = "tls" },
            Res.Mapping("route", port, host: host, service: $"127.0.0.1:{upstreamPort}") with { Address = "127.0.0.1" }));
        Assert.True(outcome.Accepted, string.Join("\n", outcome.Diagnostics));
        return certificate;
    }

    private static async Task<(string Marker, string Thumbprint)> ConnectAsync(int port, string sni)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        X509Certificate? served = null;
        await using var tls = new SslStream(client.GetStream(), false, (_, certificate, _, _) =>
        {
            served = certificate;
            return true;
        });
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni });
        using var reader = new StreamReader(tls);
        var marker = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return (marker, new X509Certificate2(served!).Thumbprint);
    }

    /// <summary>An upstream that writes its marker to every connection and closes it.</summary>
    private sealed class MarkerUpstream : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public MarkerUpstream(string marker)
        {
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(marker));
                    socket.Shutdown(SocketShutdown.Both);
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
}
