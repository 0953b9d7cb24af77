using System.Collections.Immutable;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OrleansGateway.Certificates;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Proxy.Tests.Infrastructure;

/// <summary>Certificates, secrets and TLS clients/servers for the end-to-end TLS tests.</summary>
internal static class TlsKit
{
    public static readonly X509Certificate2 Ca = DevCertificates.CreateCa("Proxy Test CA");
    public static readonly X509Certificate2 OtherCa = DevCertificates.CreateCa("Proxy Test Stranger CA");
    public static readonly X509Certificate2 ClientCert = DevCertificates.Issue(Ca, ["client.test"], clientAuth: true);
    public static readonly X509Certificate2 StrangerClientCert = DevCertificates.Issue(OtherCa, ["stranger.test"], clientAuth: true);

    public static X509Certificate2 Server(params string[] names) => DevCertificates.Issue(Ca, names);

    public static SecretRef Secret(string name) => new("default", name);

    /// <summary>A provider over Secrets named after the keys; a CA-only secret when the value is the CA itself.</summary>
    public static ICertificateProvider Provider(params (string Name, X509Certificate2 Cert)[] secrets)
    {
        var resources = secrets.Select(s => s.Cert.HasPrivateKey
            ? DevCertificates.ToSecret(s.Name, "default", s.Cert, Ca)
            : new SecretResource { ApiVersion = "v1", Name = s.Name, Namespace = "default", CaCrt = DevCertificates.ToPem(s.Cert) });
        var provider = SecretCertificateProvider.FromSecrets(resources, out var problems);
        Assert.DoesNotContain(problems, p => p.Severity == Severity.Error);
        return provider;
    }

    /// <summary>A CA-only secret (no key): what <c>ca_secret</c> names.</summary>
    public static (string, X509Certificate2) CaSecret(string name, X509Certificate2 ca)
        => (name, X509CertificateLoader.LoadCertificate(ca.Export(X509ContentType.Cert)));

    public static TlsTermination Terminate(string secret, TlsVersion? min = null, TlsVersion? max = null, string[]? alpn = null,
        string? clientCa = null, bool clientCertificateRequired = false)
        => new(new ResourceRef("Host", "default", secret), Secret(secret), min, max, [], [.. alpn ?? []],
            clientCa is null ? null : Secret(clientCa), clientCertificateRequired);

    public static SniRoute Sni(string host, string secret, RoutePlan route, TlsTermination? termination = null)
        => new(HostPattern.Parse(host), termination ?? Terminate(secret), route);

    public static TlsOrigination Originate(string? clientSecret = null, string? sni = null, string? trustedCa = null)
        => new(clientSecret is null && trustedCa is null ? null : new ResourceRef("TLSContext", "default", "upstream-tls"),
            clientSecret is null ? null : Secret(clientSecret), sni, trustedCa is null ? null : Secret(trustedCa), null, null, [], []);

    /// <summary>The result of a client handshake: the stream when it succeeded, and the certificate the server showed (if any).</summary>
    internal sealed record ClientResult(SslStream? Stream, X509Certificate2? ServerCertificate, Exception? Error, Socket Socket) : IDisposable
    {
        public void Dispose()
        {
            Stream?.Dispose();
            Socket.Dispose();
        }
    }

    public static async Task<ClientResult> ConnectAsync(IPEndPoint endPoint, string? sni, SslProtocols protocols = SslProtocols.None,
        string[]? alpn = null, X509Certificate2? clientCertificate = null)
    {
        var socket = await Net.ConnectAsync(endPoint);
        X509Certificate2? seen = null;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var options = new SslClientAuthenticationOptions
        {
            // Empty TargetHost: SslStream then sends no SNI at all.
            TargetHost = sni ?? "",
            EnabledSslProtocols = protocols,
            ApplicationProtocols = alpn is null ? null : [.. alpn.Select(p => new SslApplicationProtocol(p))],
            ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
            RemoteCertificateValidationCallback = (_, cert, _, _) =>
            {
                seen = cert is null ? null : Copy(cert);
                return true;
            },
        };
        try
        {
            using var cts = new CancellationTokenSource(Net.Deadline);
            await ssl.AuthenticateAsClientAsync(options, cts.Token);
            return new ClientResult(ssl, seen, null, socket);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            ssl.Dispose();
            return new ClientResult(null, seen, e, socket);
        }
    }

    /// <summary>Reads the one-line banner an upstream sends on connect (its name).</summary>
    public static async Task<string> ReadBannerAsync(Stream stream)
    {
        var buffer = new byte[256];
        var filled = 0;
        using var cts = new CancellationTokenSource(Net.Deadline);
        while (filled == 0 || buffer[filled - 1] != '\n')
        {
            var n = await stream.ReadAsync(buffer.AsMemory(filled), cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"EOF after {filled} bytes of banner");
            }

            filled += n;
        }

        return Encoding.ASCII.GetString(buffer, 0, filled - 1);
    }

    /// <summary>A cleartext upstream that says its name, then echoes.</summary>
    public static TestUpstream Named(string name) => new(async s =>
    {
        await s.SendAsync(Encoding.ASCII.GetBytes(name + "\n"));
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await s.ReceiveAsync(buffer)) > 0)
        {
            await s.SendAsync(buffer.AsMemory(0, n));
        }
    });

    /// <summary>What a TLS upstream saw of the proxy's handshake.</summary>
    internal sealed record UpstreamHandshake(string? ServerName, X509Certificate2? ClientCertificate);

    /// <summary>
    /// A TLS upstream with <paramref name="certificate"/> that says its name, then echoes; it records each handshake.
    /// With <paramref name="requireClientCertificateFrom"/> it demands a client certificate issued by that CA.
    /// </summary>
    public static TestUpstream TlsNamed(string name, X509Certificate2 certificate, List<UpstreamHandshake> handshakes,
        X509Certificate2? requireClientCertificateFrom = null) => new(async s =>
    {
        await using var ssl = new SslStream(new NetworkStream(s, ownsSocket: false));
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = requireClientCertificateFrom is not null,
            RemoteCertificateValidationCallback = requireClientCertificateFrom is null ? null : (_, cert, _, _) =>
                cert is not null && IssuedBy(Copy(cert), requireClientCertificateFrom),
        };
        await ssl.AuthenticateAsServerAsync(options);
        lock (handshakes)
        {
            handshakes.Add(new UpstreamHandshake(ssl.TargetHostName, ssl.RemoteCertificate is null ? null : Copy(ssl.RemoteCertificate)));
        }

        await ssl.WriteAsync(Encoding.ASCII.GetBytes(name + "\n"));
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await ssl.ReadAsync(buffer)) > 0)
        {
            await ssl.WriteAsync(buffer.AsMemory(0, n));
        }
    });

    public static X509Certificate2 Copy(X509Certificate cert) => X509CertificateLoader.LoadCertificate(cert.GetRawCertData());

    public static bool IssuedBy(X509Certificate2 leaf, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    public static async Task EchoAsync(Stream stream)
    {
        var data = Encoding.ASCII.GetBytes(Guid.NewGuid().ToString());
        await stream.WriteAsync(data);
        var back = new byte[data.Length];
        await stream.ReadExactlyAsync(back).AsTask().WaitAsync(Net.Deadline);
        Assert.Equal(data, back);
    }

    public static ImmutableArray<SniRoute> Routes(params SniRoute[] routes) => [.. routes];
}
