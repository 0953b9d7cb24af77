using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansGateway.KeyVault.Tests.TestSupport;

/// <summary>Certificates made in the test: valid, expired, not yet valid, each with its key.</summary>
public static class Certs
{
    public static X509Certificate2 Valid(string host) => Make(host, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

    public static X509Certificate2 Expired(string host) => Make(host, DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1));

    public static X509Certificate2 NotYetValid(string host) => Make(host, DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow.AddDays(10));

    /// <summary>The PKCS#8 PEM of the certificate's key.</summary>
    public static string KeyPem(X509Certificate2 certificate) => certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();

    /// <summary>The base64 body of the key PEM: what must never show up anywhere.</summary>
    public static string KeyFingerprint(X509Certificate2 certificate)
    {
        var lines = KeyPem(certificate).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines[1];
    }

    private static X509Certificate2 Make(string host, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(notBefore, notAfter);
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }
}
