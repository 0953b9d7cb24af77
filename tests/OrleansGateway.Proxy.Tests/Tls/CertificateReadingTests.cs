using System.Security.Cryptography;
using OrleansGateway.Certificates;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Proxy.Tests.Tls;

/// <summary>
/// A Secret resource (read by the data plane and <c>ogw check</c>) and the same material from a certificate source or
/// an upload (checked by a certificate grain) are read by one PEM reader: what one refuses, the other refuses.
/// </summary>
public sealed class CertificateReadingTests
{
    public static TheoryData<string, string, string, string> Refused
    {
        get
        {
            var crt = DevCertificates.ToPem(TestPki.Server);
            using var rsa = RSA.Create(2048);
            var encrypted = rsa.ExportEncryptedPkcs8PrivateKeyPem("pass", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000));
            return new()
            {
                // name, tls.crt, tls.key, a fragment both messages share
                { "encrypted key", crt, encrypted, "encrypted" },
                { "key of another certificate", crt, DevCertificates.KeyToPem(TestPki.Client), "does not match" },
                { "no key block", crt, "not a key", "PRIVATE KEY" },
                { "bad second certificate", crt + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", DevCertificates.KeyToPem(TestPki.Server), "certificate #2 is not a valid X.509" },
            };
        }
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_secret_and_sourced_material_are_refused_alike(string name, string crt, string key, string fragment)
    {
        var secret = new SecretResource { ApiVersion = "v1", Name = "s", Namespace = "ns", Type = "kubernetes.io/tls", TlsCrt = crt, TlsKey = key };

        SecretCertificateProvider.FromSecrets([secret], out var problems);
        var refusal = CertificateFiles.Check(new CertificateMaterial(secret.Type, crt, key, null), DateTimeOffset.UtcNow, out _);

        var error = Assert.Single(problems, p => p.Severity == Severity.Error);
        Assert.True(error.Message.Contains(fragment, StringComparison.Ordinal), $"{name}, as a Secret: {error.Message}");
        Assert.True(refusal?.Contains(fragment, StringComparison.Ordinal) == true, $"{name}, from a source: {refusal}");
    }

    [Fact]
    public void Material_a_secret_serves_passes_the_check()
    {
        var secret = DevCertificates.ToSecret("s", "ns", TestPki.Server);

        SecretCertificateProvider.FromSecrets([secret], out var problems);

        Assert.Empty(problems);
        Assert.Null(CertificateFiles.Check(new CertificateMaterial(secret.Type, secret.TlsCrt, secret.TlsKey, null), DateTimeOffset.UtcNow, out var info));
        Assert.Equal(TestPki.Server.Thumbprint, info!.Thumbprint);
    }

    [Fact]
    public void An_upload_with_an_openssl_encrypted_key_is_refused_as_encrypted()
    {
        var pem = DevCertificates.ToPem(TestPki.Server)
            + "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";

        var error = Assert.Throws<FormatException>(() => CertificateFiles.FromPem(pem));

        Assert.Contains("encrypted", error.Message, StringComparison.Ordinal);
    }
}
