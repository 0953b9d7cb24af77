using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Model;

namespace OrleansGateway.Proxy.Tls;

/// <summary>
/// Minimal stand-in until the tls branch (issue 3, TLS part) lands with the real factory; this file is deleted then.
/// </summary>
public static class TlsOptionsFactory
{
    public static SslServerAuthenticationOptions? ForTermination(TlsTermination t, ICertificateProvider certs, out string? error)
    {
        var cert = certs.GetCertificate(t.Certificate);
        if (cert is null)
        {
            error = $"secret {t.Certificate} has no certificate";
            return null;
        }

        var clientCa = t.ClientCa is null ? null : certs.GetCaCertificates(t.ClientCa);
        error = null;
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(cert, certs.GetChain(t.Certificate), offline: true),
            EnabledSslProtocols = Protocols(t.MinVersion, t.MaxVersion),
            ApplicationProtocols = t.AlpnProtocols.IsDefaultOrEmpty ? null : [.. t.AlpnProtocols.Select(p => new SslApplicationProtocol(p))],
            ClientCertificateRequired = t.ClientCertificateRequired,
            RemoteCertificateValidationCallback = clientCa is null ? null : (_, c, _, _) => c is null ? !t.ClientCertificateRequired : Chains(c, clientCa),
        };
    }

    public static SslClientAuthenticationOptions? ForOrigination(TlsOrigination o, ICertificateProvider certs, out string? error)
    {
        var clientCert = o.ClientCertificate is null ? null : certs.GetCertificate(o.ClientCertificate);
        var ca = o.TrustedCa is null ? null : certs.GetCaCertificates(o.TrustedCa);
        error = null;
        return new SslClientAuthenticationOptions
        {
            TargetHost = o.Sni ?? "",
            EnabledSslProtocols = Protocols(o.MinVersion, o.MaxVersion),
            ClientCertificates = clientCert is null ? null : [clientCert],
            LocalCertificateSelectionCallback = clientCert is null ? null : (_, _, _, _, _) => clientCert,
            RemoteCertificateValidationCallback = (_, c, _, _) => ca is null || (c is not null && Chains(c, ca)),
        };
    }

    private static SslProtocols Protocols(TlsVersion? min, TlsVersion? max)
    {
        if (min is null && max is null)
        {
            return SslProtocols.None;
        }

        var p = SslProtocols.None;
        if ((min ?? TlsVersion.Tls12) <= TlsVersion.Tls12 && (max ?? TlsVersion.Tls13) >= TlsVersion.Tls12)
        {
            p |= SslProtocols.Tls12;
        }

        if ((max ?? TlsVersion.Tls13) >= TlsVersion.Tls13)
        {
            p |= SslProtocols.Tls13;
        }

        return p;
    }

    private static bool Chains(X509Certificate c, X509Certificate2Collection ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(X509CertificateLoader.LoadCertificate(c.GetRawCertData()));
    }
}
