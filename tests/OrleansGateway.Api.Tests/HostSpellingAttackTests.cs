using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// Issue 12's SNI attack through the real management API, with two tenants' keys and real TLS clients: tenant A routes
/// <c>*.a.test</c> and <c>*.bücher.test</c> on a shared port; tenant B writes the same names in other spellings
/// (trailing dot, upper case, the A-label) or an exact name under A's glob. Before host names were canonical, B's apply
/// was accepted and clients of <c>shop.a.test</c> got B's certificate and reached B's server.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class HostSpellingAttackTests(ApiGateway gateway)
{
    [Fact]
    public async Task Another_tenants_spelling_of_a_routed_name_is_refused_and_clients_keep_reaching_the_owner()
    {
        await using var upstreamA = new EchoUpstream(greeting: "upstream-a");
        await using var upstreamB = new EchoUpstream(greeting: "upstream-b");
        var port = Ports.Free();
        var tokenA = await gateway.CreateTenantAsync("spell-a", port);
        var tokenB = await gateway.CreateTenantAsync("spell-b", port);
        using var certificateA = Certificate("CN=tenant-a.test");
        using var certificateB = Certificate("CN=tenant-b.test");

        var (applied, outcome) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/spell-a/resources", tokenA,
            ApiGateway.YamlBody(Tenant("a", certificateA, port, upstreamA.Port, "*.a.test", "*.bücher.test")));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());
        Assert.True(await Eventually.TrueAsync(async () => await HandshakeAsync(port, "shop.a.test") is { Greeting: "upstream-a" }, TimeSpan.FromSeconds(15)),
            "tenant A's route never served");

        var before = await gateway.SnapshotAsync("spell-b");
        foreach (var spelling in new[] { "*.a.test.", "*.A.TEST", "shop.a.test.", "SHOP.A.TEST", "*.xn--bcher-kva.test", "*.XN--BCHER-KVA.test." })
        {
            var (status, problem) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/spell-b/resources", tokenB,
                ApiGateway.YamlBody(Tenant("b", certificateB, port, upstreamB.Port, spelling)));

            Assert.True(status == (HttpStatusCode)422, $"{spelling}: {status} {problem}");
            var text = problem.ToString();
            Assert.Contains("overlaps a name another tenant already routes", text, StringComparison.Ordinal);
            foreach (var secret in new[] { "spell-a", "route-a", "host-a", $"{upstreamA.Port}" })
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }

        Assert.Equal(before, await gateway.SnapshotAsync("spell-b"));
        foreach (var sni in new[] { "shop.a.test", "SHOP.A.TEST.", "x.y.a.test", "shop.xn--bcher-kva.test" })
        {
            var result = await HandshakeAsync(port, sni);
            Assert.NotNull(result);
            Assert.Equal(certificateA.Thumbprint, result.Value.Certificate.Thumbprint);
            Assert.Equal("upstream-a", result.Value.Greeting);
        }

        Assert.Equal(0, upstreamB.Connections);
    }

    /// <summary>A tenant's Secret, one Host per pattern with that Secret, and one mapping per pattern to its upstream.</summary>
    private static string Tenant(string tenant, X509Certificate2 certificate, int port, int upstreamPort, params string[] patterns)
    {
        var yaml = new StringBuilder($"""
            apiVersion: v1
            kind: Secret
            metadata:
              name: cert-{tenant}
            type: kubernetes.io/tls
            stringData:
              tls.crt: |
            {Indent(certificate.ExportCertificatePem())}
              tls.key: |
            {Indent(certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem())}

            """);
        for (var i = 0; i < patterns.Length; i++)
        {
            yaml.Append($"""
                ---
                apiVersion: getambassador.io/v3alpha1
                kind: Host
                metadata:
                  name: host-{tenant}-{i}
                spec:
                  hostname: "{patterns[i]}"
                  tlsSecret:
                    name: cert-{tenant}
                ---
                apiVersion: getambassador.io/v3alpha1
                kind: TCPMapping
                metadata:
                  name: route-{tenant}-{i}
                spec:
                  port: {port}
                  host: "{patterns[i]}"
                  service: 127.0.0.1:{upstreamPort}

                """);
        }

        return yaml.ToString();

        static string Indent(string pem) => string.Join('\n', pem.TrimEnd().Split('\n').Select(line => "    " + line));
    }

    private static X509Certificate2 Certificate(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    /// <summary>A TLS client asking for <paramref name="sni"/>: the certificate the gateway showed and the upstream's greeting; null when refused.</summary>
    private static async Task<(X509Certificate2 Certificate, string Greeting)?> HandshakeAsync(int port, string sni)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            X509Certificate2? shown = null;
            await using var tls = new SslStream(client.GetStream(), false, (_, certificate, _, _) =>
            {
                shown = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return true;
            });
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }, timeout.Token);
            var greeting = new byte["upstream-a".Length];
            await tls.ReadExactlyAsync(greeting, timeout.Token);
            return shown is null ? null : (shown, Encoding.UTF8.GetString(greeting));
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException)
        {
            return null;
        }
    }
}
