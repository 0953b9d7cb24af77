using System.Net.Sockets;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// Re-applying a plan with thousands of listeners (issue 7 item 4): established connections stay, no listener is
/// bound a second time, and only the changed listener gets a new snapshot. Correctness only; the timings are in
/// bench/OrleansGateway.Bench.Scale (docs/scale.md).
/// </summary>
public sealed class ScaleReapplyTests
{
    private const int Listeners = 2_000;

    [Fact]
    public async Task Reapplying_2000_listeners_keeps_connections_binds_nothing_twice_and_rebuilds_only_the_changed_one()
    {
        await using var a = TestUpstream.Echo();
        await using var b = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();

        // Distinct loopback addresses with port 0: the OS picks each port, so nothing here can collide with another test.
        var endpoints = Enumerable.Range(0, Listeners).Select(i => new ListenerEndpoint($"127.0.{1 + i / 250}.{1 + i % 250}", 0)).ToArray();
        var listeners = endpoints.Select(e => Cleartext(e, Route(Upstream(a.EndPoint, "to-a")))).ToArray();
        await proxy.ApplyBoundAsync(new GatewayPlan("default", [.. listeners]));
        var ports = endpoints.Select(proxy.EndPointOf).ToArray();
        Assert.Equal(Listeners, BindCount(proxy));

        // Connections spread over the listeners, including the one that changes (index 0).
        var open = new List<Socket>();
        try
        {
            for (var i = 0; i < Listeners; i += 100)
            {
                var socket = await proxy.ConnectAsync(endpoints[i]);
                open.Add(socket);
                await Net.RoundTripAsync(socket);
            }

            // The same listener objects except one, as an edge builds its plan (unchanged slices keep their objects).
            var changed = listeners.ToArray();
            changed[0] = Cleartext(endpoints[0], Route(Upstream(b.EndPoint, "to-b")));
            var result = await proxy.ApplyBoundAsync(new GatewayPlan("default", [.. changed]));

            Assert.Equal(Listeners, result.Listeners.Length);
            Assert.Equal(Listeners, BindCount(proxy));
            Assert.Equal(ports, endpoints.Select(proxy.EndPointOf));
            Assert.Contains(proxy.Logs.Lines, l => l.Message.Contains($"{Listeners} listeners bound, 0 failed, 0 removed, {Listeners - 1} unchanged", StringComparison.Ordinal));
            foreach (var socket in open)
            {
                await Net.RoundTripAsync(socket);
            }

            var bBefore = b.Count;
            using (var fresh = await proxy.ConnectAsync(endpoints[0]))
            {
                await Net.RoundTripAsync(fresh);
            }

            Assert.Equal(bBefore + 1, b.Count);

            // Equal content in new objects (a full recompile): every snapshot is rebuilt, still nothing is bound again.
            var recompiled = changed.Select(l => l with { }).ToArray();
            await proxy.ApplyBoundAsync(new GatewayPlan("default", [.. recompiled]));
            Assert.Equal(Listeners, BindCount(proxy));
            Assert.Contains(proxy.Logs.Lines, l => l.Message.Contains($"{Listeners} listeners bound, 0 failed, 0 removed, 0 unchanged", StringComparison.Ordinal));
            foreach (var socket in open)
            {
                await Net.RoundTripAsync(socket);
            }
        }
        finally
        {
            open.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void A_snapshot_is_reused_only_for_the_same_plan_object_and_the_same_certificate_objects()
    {
        using var certificate = TlsKit.Server("db.example.test");
        var first = TlsKit.Provider(("cert", certificate));
        var route = Route(Upstream(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1), "db"));
        var plan = Inspecting(Loopback(), [TlsKit.Sni("db.example.test", "cert", route)]);
        var snapshot = ListenerSnapshot.Build(plan, first, new CircuitBreakers());

        Assert.True(snapshot.IsCurrentFor(plan, first));
        Assert.False(snapshot.IsCurrentFor(plan with { }, first));

        // A new provider with the same certificate objects is still current; another certificate is not.
        Assert.True(snapshot.IsCurrentFor(plan, new ForwardingProvider(first)));
        Assert.False(snapshot.IsCurrentFor(plan, TlsKit.Provider(("cert", certificate))));
    }

    /// <summary>
    /// A port shared by many tenants: a rebuild keeps the prepared entry of every route that is the same object with
    /// the same certificate objects, and prepares only the rest (a changed route, a route whose certificate changed).
    /// </summary>
    [Fact]
    public void A_rebuilt_snapshot_keeps_the_entries_of_unchanged_routes_and_prepares_the_changed_ones()
    {
        using var certificate = TlsKit.Server("db.example.test");
        using var other = TlsKit.Server("db.example.test");
        var first = TlsKit.Provider(("cert", certificate), ("cert-b", certificate));
        var kept = TlsKit.Sni("kept.example.test", "cert", Route(Upstream(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1), "kept")));
        var moved = TlsKit.Sni("moved.example.test", "cert", Route(Upstream(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 2), "a")));
        var rotated = TlsKit.Sni("rotated.example.test", "cert-b", Route(Upstream(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 3), "r")));
        var plan = Inspecting(Loopback(), [kept, moved, rotated]);
        var breakers = new CircuitBreakers();
        var before = ListenerSnapshot.Build(plan, first, breakers);

        var movedAgain = TlsKit.Sni("moved.example.test", "cert", Route(Upstream(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4), "b")));
        var second = TlsKit.Provider(("cert", certificate), ("cert-b", other));
        var after = ListenerSnapshot.Build(plan with { SniRoutes = [kept, movedAgain, rotated] }, new RebindingProvider(first, second, "cert-b"), breakers, previous: before);

        Assert.Same(before.Router.Find("kept.example.test"), after.Router.Find("kept.example.test"));
        Assert.NotSame(before.Router.Find("moved.example.test"), after.Router.Find("moved.example.test"));
        Assert.Equal(4, after.Router.Find("moved.example.test")!.Upstreams.Single().Plan.Target.Port);
        Assert.NotSame(before.Router.Find("rotated.example.test"), after.Router.Find("rotated.example.test"));
    }

    private static int BindCount(ProxyHarness proxy) =>
        proxy.Logs.Lines.Count(l => l.Message.StartsWith("Listening on ", StringComparison.Ordinal));

    private sealed class ForwardingProvider(ICertificateProvider inner) : ICertificateProvider
    {
        public System.Security.Cryptography.X509Certificates.X509Certificate2? GetCertificate(SecretRef secret) => inner.GetCertificate(secret);

        public System.Security.Cryptography.X509Certificates.X509Certificate2Collection GetChain(SecretRef secret) => inner.GetChain(secret);

        public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? GetCaCertificates(SecretRef secret) => inner.GetCaCertificates(secret);
    }

    /// <summary>The certificates of <paramref name="before"/>, except Secret <paramref name="changed"/>'s, which come from <paramref name="after"/>.</summary>
    private sealed class RebindingProvider(ICertificateProvider before, ICertificateProvider after, string changed) : ICertificateProvider
    {
        private ICertificateProvider For(SecretRef secret) => secret.Name == changed ? after : before;

        public System.Security.Cryptography.X509Certificates.X509Certificate2? GetCertificate(SecretRef secret) => For(secret).GetCertificate(secret);

        public System.Security.Cryptography.X509Certificates.X509Certificate2Collection GetChain(SecretRef secret) => For(secret).GetChain(secret);

        public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? GetCaCertificates(SecretRef secret) => For(secret).GetCaCertificates(secret);
    }
}
