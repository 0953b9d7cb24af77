using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Certificates.Development;

namespace OrleansGateway.Proxy.Tests.Tls;

public sealed class DevCertificatesTests
{
    [Fact]
    public void Issued_server_certificate_has_san_eku_validity_and_chains_to_its_ca()
    {
        var now = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(now);
        var ca = DevCertificates.CreateCa("Clocked CA", clock: clock);

        var cert = DevCertificates.Issue(ca, ["a.example.com", "b.example.com"], validDays: 30, clock: clock);

        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["a.example.com", "b.example.com"], san.EnumerateDnsNames());
        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal("1.3.6.1.5.5.7.3.1", Assert.Single(eku.EnhancedKeyUsages.Cast<Oid>()).Value);
        Assert.Equal(now.AddDays(-1), new DateTimeOffset(cert.NotBefore.ToUniversalTime()), TimeSpan.FromSeconds(1));
        Assert.Equal(now.AddDays(30), new DateTimeOffset(cert.NotAfter.ToUniversalTime()), TimeSpan.FromSeconds(1));
        Assert.True(cert.HasPrivateKey);
        Assert.Equal("CN=a.example.com", cert.Subject);

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        Assert.True(chain.Build(cert), string.Join(", ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }

    [Fact]
    public void Client_certificate_has_client_auth_eku_and_rsa_key_when_asked()
    {
        var cert = DevCertificates.Issue(TestPki.Ca, ["client.example.com"], clientAuth: true, algorithm: DevKeyAlgorithm.Rsa2048);

        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal("1.3.6.1.5.5.7.3.2", Assert.Single(eku.EnhancedKeyUsages.Cast<Oid>()).Value);
        using var rsa = cert.GetRSAPrivateKey();
        Assert.Equal(2048, rsa!.KeySize);
    }

    [Fact]
    public void Self_signed_server_is_its_own_issuer_and_not_a_ca()
    {
        var cert = DevCertificates.CreateSelfSignedServer(["localhost"]);

        Assert.Equal(cert.Subject, cert.Issuer);
        Assert.False(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.NotNull(cert.GetECDsaPrivateKey());
    }

    [Fact]
    public void Pem_round_trips_in_both_key_forms()
    {
        foreach (var cert in new[] { TestPki.Server, TestPki.RsaServer })
        {
            var pkcs8 = DevCertificates.KeyToPem(cert);
            var traditional = DevCertificates.KeyToPem(cert, traditional: true);

            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", pkcs8);
            Assert.Matches("^-----BEGIN (RSA|EC) PRIVATE KEY-----", traditional);
            using var fromPkcs8 = X509Certificate2.CreateFromPem(DevCertificates.ToPem(cert), pkcs8);
            using var fromTraditional = X509Certificate2.CreateFromPem(DevCertificates.ToPem(cert), traditional);
            Assert.Equal(cert.Thumbprint, fromPkcs8.Thumbprint);
            Assert.True(fromTraditional.HasPrivateKey);
        }
    }

    [Fact]
    public void Secret_is_a_kubernetes_tls_secret_with_chain_and_ca()
    {
        var intermediate = DevCertificates.CreateCa("Intermediate", issuer: TestPki.Ca);
        var leaf = DevCertificates.Issue(intermediate, ["chained.test"]);

        var secret = DevCertificates.ToSecret("web", "shop", leaf, TestPki.Ca, [intermediate]);

        Assert.Equal(("v1", "Secret", "kubernetes.io/tls", "web", "shop"), (secret.ApiVersion, secret.Kind, secret.Type, secret.Name, secret.Namespace));
        var certs = new X509Certificate2Collection();
        certs.ImportFromPem(secret.TlsCrt);
        Assert.Equal([leaf.Thumbprint, intermediate.Thumbprint], certs.Select(c => c.Thumbprint));
        Assert.Contains("PRIVATE KEY", secret.TlsKey);
        Assert.Equal(TestPki.Ca.Thumbprint, X509Certificate2.CreateFromPem(secret.CaCrt).Thumbprint);
    }
}
