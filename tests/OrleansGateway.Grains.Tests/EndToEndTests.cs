using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
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

    /// <summary>
    /// An attacker shares a TLS port with a victim and, change after change, asks for the victim's names in other
    /// spellings, under a wider glob, as <c>*</c>, beside a route of its own that it moves each time. The edge takes each
    /// change as the attacker's part alone (docs/control-plane.md, "Edges fetch what changed"): the victim's route at
    /// the edge stays the very object it fetched first, and over real TLS the victim's names keep answering with the
    /// victim's certificate and upstream while the attacker's own name follows its moves.
    /// </summary>
    [Fact]
    public async Task An_attackers_changes_reach_the_edge_as_its_own_part_and_never_take_a_victims_name()
    {
        using var victimUpstream = new MarkerUpstream("victim");
        using var attackerOne = new MarkerUpstream("attacker-1");
        using var attackerTwo = new MarkerUpstream("attacker-2");
        var port = Ports.Free();
        var victim = await ApplyTenantAsync("t-e2e-victim", "*.victim.e2e.test", port, victimUpstream.Port);

        await using var proxy = new ProxyServer(new ProxyOptions(), NullLoggerFactory.Instance);
        var edge = new EdgeRouteCache(fixture.Silo(2), GatewayClusterFixture.AmbassadorId,
            (snapshot, ct) => proxy.ApplyAsync(snapshot.Plan, snapshot.Certificates, ct), NullLogger<EdgeRouteCache>.Instance);
        await using (edge)
        {
            edge.Start();
            var first = await Eventually.Get(() => Task.FromResult(edge.Current), s => Shared(s, port)?.SniRoutes.Length == 1, what: "the victim's route at the edge");
            var victimRoute = Assert.Single(Shared(first, port)!.SniRoutes);
            Assert.Equal(("victim", victim.Thumbprint), await ConnectAsync(port, "shop.victim.e2e.test"));

            string[] stolen = ["shop.victim.e2e.test", "*.VICTIM.e2e.test.", "*", "*.e2e.test", "WWW.victim.e2e.test.", "*.victim.e2e.test"];
            for (var step = 0; step < stolen.Length; step++)
            {
                var (marker, upstream) = step % 2 == 0 ? ("attacker-2", attackerTwo.Port) : ("attacker-1", attackerOne.Port);
                var outcome = await AttackAsync(port, stolen[step], upstream);
                Assert.Equal(ResourceState.Discarded, outcome.Statuses.Single(st => st.Resource.Name == "steal").State);

                await Eventually.Get(() => Task.FromResult(edge.Current),
                    s => Shared(s, port)?.SniRoutes.SingleOrDefault(r => r.Host.Text == "attacker.e2e.test")?.Route.Upstreams[0].Target.Port == upstream,
                    what: $"the attacker's step {step} at the edge");
                var routes = Shared(edge.Current, port)!.SniRoutes;
                Assert.Equal(["attacker.e2e.test", "*.victim.e2e.test"], routes.Select(r => r.Host.Text));
                Assert.Same(victimRoute, routes[1]);
                Assert.Equal(("victim", victim.Thumbprint), await ConnectAsync(port, "shop.victim.e2e.test"));
                Assert.Equal(("victim", victim.Thumbprint), await ConnectAsync(port, "a.b.VICTIM.e2e.test"));
                Assert.Equal(marker, (await ConnectAsync(port, "attacker.e2e.test")).Marker);
            }
        }
    }

    private static ListenerPlan? Shared(EdgeSnapshot? snapshot, int port) => snapshot?.Plan.Listeners.SingleOrDefault(l => l.Endpoint.Port == port);

    /// <summary>The attacker's whole content, as its config directory sends it: its own route (to <paramref name="upstreamPort"/>) and a route for <paramref name="stolen"/>.</summary>
    private async Task<ApplyOutcome> AttackAsync(int port, string stolen, int upstreamPort)
    {
        var (crt, key, _) = Res.SelfSigned("attacker.e2e.test");
        Resource[] resources =
        [
            new SecretResource { Name = "tls", ApiVersion = "v1", Type = "kubernetes.io/tls", TlsCrt = crt, TlsKey = key },
            new HostResource { Name = "own", Hostname = "attacker.e2e.test", TlsSecretName = "tls" },
            new HostResource { Name = "stolen", Hostname = stolen, TlsSecretName = "tls" },
            Res.Mapping("own", port, host: "attacker.e2e.test", service: $"127.0.0.1:{upstreamPort}") with { Address = "127.0.0.1" },
            Res.Mapping("steal", port, host: stolen, service: $"127.0.0.1:{upstreamPort}") with { Address = "127.0.0.1" },
        ];
        return await fixture.Silo(1).GetTenantGrain("t-e2e-attacker").ApplyAsync(new ApplyRequest([.. resources], ApplyMode.PerResource, "config-dir", Prune: true));
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
