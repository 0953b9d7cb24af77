using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace OrleansGateway.Host.Tests.Attacks;

/// <summary>
/// Tenant P relays <c>db.p.test</c> unterminated to its own TLS upstream (docs/tcpmapping-semantics.md, "SNI
/// passthrough"); tenant B, with a key, a quota that allows P's port and every name, tries to take that name: the same
/// name terminated with its own certificate, the same name as its own passthrough, or a wildcard that would shadow it.
/// Each is 422 naming the overlap and never tenant P, and P's clients keep completing their handshake with P's upstream.
/// A tenant whose <c>allowedHosts</c> does not cover a passthrough host cannot claim it either.
/// </summary>
[Collection(AttackCollection.Name)]
public sealed class PassthroughAttackTests(AttackedGateway gateway) : IAsyncLifetime
{
    private readonly X509Certificate2 _upstreamCertificate = TestCertificates.SelfSigned("db.p.test");
    private TcpListener _upstream = null!;
    private Task _serving = Task.CompletedTask;
    private readonly CancellationTokenSource _stop = new();
    private int _port;

    public async ValueTask InitializeAsync()
    {
        _upstream = new TcpListener(IPAddress.Loopback, 0);
        _upstream.Start();
        _serving = ServeAsync();
        _port = Ports.Free();
        var victim = $"pt-victim-{_port}";
        var token = await gateway.CreateTenantAsync(victim, new
        {
            allowedPorts = new[] { $"{_port}" },
            allowedUpstreams = new[] { "127.0.0.1" },
            allowedHosts = new[] { "*.p.test" },
        });
        var (status, outcome) = await gateway.ApplyAsync(victim, token,
            Passthrough("db-p", _port, $"127.0.0.1:{((IPEndPoint)_upstream.LocalEndpoint).Port}", "db.p.test"));
        Assert.True(status == HttpStatusCode.OK, outcome.ToString());
        await Eventually.Until(async () => await VictimReachesItsUpstreamAsync(), "tenant P's passthrough route on the edge", TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _upstream.Stop();
        await _serving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _upstreamCertificate.Dispose();
        _stop.Dispose();
    }

    public static TheoryData<string, string> Claims => new()
    {
        { "the same name, terminated with B's certificate", "db.p.test" },
        { "the same name as B's own passthrough", "passthrough:db.p.test" },
        { "a wildcard over it, terminated", "*.p.test" },
        { "a wildcard over it, passthrough", "passthrough:*.p.test" },
        { "everything", "passthrough:*" },
    };

    [Theory]
    [MemberData(nameof(Claims))]
    public async Task Another_tenant_cannot_claim_or_shadow_a_passthrough_host(string what, string claim)
    {
        await using var server = new RecordingUpstream(greeting: "upstream-b");
        using var certificate = TestCertificates.SelfSigned("b.test");
        var tenant = $"pt-b-{Ports.Free()}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], ports: _port);
        var before = await gateway.SnapshotAsync(tenant);
        var passthrough = claim.StartsWith("passthrough:", StringComparison.Ordinal);
        var host = passthrough ? claim["passthrough:".Length..] : claim;
        var yaml = passthrough
            ? Passthrough("route-b", _port, $"127.0.0.1:{server.Port}", host)
            : string.Join('\n', Yaml.TlsSecret("cert-b", certificate), Yaml.Host("host-b", host, "cert-b"),
                Yaml.TcpMapping("route-b", _port, $"127.0.0.1:{server.Port}", host: $"\"{host}\""));

        var (status, problem) = await gateway.ApplyAsync(tenant, token, yaml);

        Assert.True(status == (HttpStatusCode)422, $"{what}: {status} {problem}");
        var text = problem.ToString();
        Assert.Contains("overlaps a name another tenant already routes", text, StringComparison.Ordinal);
        Assert.DoesNotContain("pt-victim", text, StringComparison.Ordinal);
        Assert.DoesNotContain("db-p", text, StringComparison.Ordinal);
        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
        Assert.True(await VictimReachesItsUpstreamAsync(), $"after {what}, P's client no longer reaches P's upstream");
        Assert.Equal(0, server.Connections);
    }

    [Fact]
    public async Task A_passthrough_host_outside_allowed_hosts_is_refused_by_the_quota()
    {
        var tenant = $"pt-q-{Ports.Free()}";
        var port = Ports.Free();
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], hosts: ["*.q.test"], port);

        var (status, problem) = await gateway.ApplyAsync(tenant, token, Passthrough("route-q", port, "127.0.0.1:9", "db.other.test"));

        Assert.True(status == (HttpStatusCode)422, $"{status} {problem}");
        Assert.Contains("quota.hosts", AttackedGateway.Codes(problem));
        Assert.Contains("db.other.test", problem.ToString(), StringComparison.Ordinal);
    }

    private static string Passthrough(string name, int port, string service, string host) =>
        Yaml.TcpMapping(name, port, service, $"\"{host}\"").Replace($"  name: {name}\n",
            $"  name: {name}\n  annotations:\n    orleansgateway.io/tls-passthrough: \"true\"\n", StringComparison.Ordinal);

    /// <summary>A client of <c>db.p.test</c> pinned to the upstream's own certificate completes its handshake and gets its greeting.</summary>
    private async Task<bool> VictimReachesItsUpstreamAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, _port, timeout.Token);
            await using var tls = new SslStream(client.GetStream(), false,
                (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == _upstreamCertificate.GetCertHashString());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "db.p.test" }, timeout.Token);
            var greeting = new byte["upstream-p".Length];
            await tls.ReadExactlyAsync(greeting, timeout.Token);
            return Encoding.ASCII.GetString(greeting) == "upstream-p";
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Tenant P's upstream: TLS with its own certificate, greets "upstream-p".</summary>
    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient accepted;
            try
            {
                accepted = await _upstream.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var client = accepted;
                try
                {
                    await using var tls = new SslStream(client.GetStream());
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _upstreamCertificate }, timeout.Token);
                    await tls.WriteAsync("upstream-p"u8.ToArray(), timeout.Token);
                    await tls.FlushAsync(timeout.Token);
                    var buffer = new byte[1];
                    _ = await tls.ReadAsync(buffer, timeout.Token);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                {
                    // The client went away: nothing to serve.
                }
            });
        }
    }
}
