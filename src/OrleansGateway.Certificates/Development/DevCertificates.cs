using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Certificates.Development;

/// <summary>Key type of a development certificate.</summary>
public enum DevKeyAlgorithm
{
    EcdsaP256,
    Rsa2048,
}

/// <summary>
/// Development and test certificates (for tests and <c>ogw dev-cert</c>): a CA, certificates it issues and a
/// self-signed server certificate, as PEM or as a <c>kubernetes.io/tls</c> Secret. Every certificate is valid from
/// one day before "now" (clock skew) to <c>validDays</c> after it; pass a <see cref="TimeProvider"/> to move "now".
/// Not for production: keys are generated in memory and exported unencrypted.
/// </summary>
public static class DevCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    /// <summary>A self-signed leaf for <paramref name="dnsNames"/> (server authentication), the first name as its CN.</summary>
    public static X509Certificate2 CreateSelfSignedServer(
        string[] dnsNames, int validDays = 365, DevKeyAlgorithm algorithm = DevKeyAlgorithm.EcdsaP256, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(dnsNames.Length, nameof(dnsNames));
        using var key = CreateKey(algorithm);
        var request = LeafRequest(dnsNames[0], dnsNames, key, clientAuth: false);
        var (notBefore, notAfter) = Validity(validDays, clock);
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>A CA certificate; with <paramref name="issuer"/> an intermediate CA signed by it, else a self-signed root.</summary>
    public static X509Certificate2 CreateCa(
        string commonName = "OrleansGateway Development CA",
        int validDays = 3650,
        DevKeyAlgorithm algorithm = DevKeyAlgorithm.EcdsaP256,
        X509Certificate2? issuer = null,
        TimeProvider? clock = null)
    {
        using var key = CreateKey(algorithm);
        var request = NewRequest(CommonName(commonName), key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var (notBefore, notAfter) = Validity(validDays, clock);
        return issuer is null ? request.CreateSelfSigned(notBefore, notAfter) : Sign(request, issuer, key, notBefore, notAfter);
    }

    /// <summary>
    /// A leaf signed by <paramref name="ca"/> (which must have its private key): server authentication, or client
    /// authentication when <paramref name="clientAuth"/>. The first DNS name is the CN.
    /// </summary>
    public static X509Certificate2 Issue(
        X509Certificate2 ca,
        string[] dnsNames,
        bool clientAuth = false,
        int validDays = 365,
        DevKeyAlgorithm algorithm = DevKeyAlgorithm.EcdsaP256,
        TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(dnsNames.Length, nameof(dnsNames));
        using var key = CreateKey(algorithm);
        var request = LeafRequest(dnsNames[0], dnsNames, key, clientAuth);
        var (notBefore, notAfter) = Validity(validDays, clock);
        return Sign(request, ca, key, notBefore, notAfter);
    }

    /// <summary>The certificate as one PEM <c>CERTIFICATE</c> block.</summary>
    public static string ToPem(X509Certificate2 cert) => cert.ExportCertificatePem() + "\n";

    /// <summary>
    /// The private key as PEM: PKCS#8 (<c>PRIVATE KEY</c>) by default, or the traditional form
    /// (<c>RSA PRIVATE KEY</c> / <c>EC PRIVATE KEY</c>) when <paramref name="traditional"/>.
    /// </summary>
    public static string KeyToPem(X509Certificate2 cert, bool traditional = false)
    {
        using var rsa = cert.GetRSAPrivateKey();
        if (rsa is not null)
        {
            return (traditional ? rsa.ExportRSAPrivateKeyPem() : rsa.ExportPkcs8PrivateKeyPem()) + "\n";
        }

        using var ecdsa = cert.GetECDsaPrivateKey()
            ?? throw new ArgumentException($"Certificate '{cert.Subject}' has no RSA or ECDSA private key to export.", nameof(cert));
        return (traditional ? ecdsa.ExportECPrivateKeyPem() : ecdsa.ExportPkcs8PrivateKeyPem()) + "\n";
    }

    /// <summary>
    /// A <c>kubernetes.io/tls</c> Secret: <c>tls.crt</c> = the certificate followed by <paramref name="chain"/>,
    /// <c>tls.key</c> = its PKCS#8 key, and <c>ca.crt</c> = <paramref name="ca"/> when given.
    /// </summary>
    public static SecretResource ToSecret(
        string name, string ns, X509Certificate2 cert, X509Certificate2? ca = null, IEnumerable<X509Certificate2>? chain = null)
        => new()
        {
            ApiVersion = "v1",
            Name = name,
            Namespace = ns,
            Type = "kubernetes.io/tls",
            TlsCrt = ToPem(cert) + string.Concat((chain ?? []).Select(ToPem)),
            TlsKey = KeyToPem(cert),
            CaCrt = ca is null ? null : ToPem(ca),
        };

    private static CertificateRequest LeafRequest(string commonName, string[] dnsNames, AsymmetricAlgorithm key, bool clientAuth)
    {
        var request = NewRequest(CommonName(commonName), key);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var usage = X509KeyUsageFlags.DigitalSignature | (key is RSA ? X509KeyUsageFlags.KeyEncipherment : 0);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([clientAuth ? ClientAuth : ServerAuth], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }

    private static CertificateRequest NewRequest(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        ECDsa ecdsa => new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256),
        _ => throw new ArgumentException($"Unsupported key type {key.GetType().Name}.", nameof(key)),
    };

    /// <summary>Signs with the issuer's key (RSA or ECDSA, whatever the subject's key is) and attaches the subject's key.</summary>
    private static X509Certificate2 Sign(
        CertificateRequest request, X509Certificate2 issuer, AsymmetricAlgorithm subjectKey, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var issuerRsa = issuer.GetRSAPrivateKey();
        using var issuerEcdsa = issuerRsa is null ? issuer.GetECDsaPrivateKey() : null;
        var generator = issuerRsa is not null
            ? X509SignatureGenerator.CreateForRSA(issuerRsa, RSASignaturePadding.Pkcs1)
            : X509SignatureGenerator.CreateForECDsa(
                issuerEcdsa ?? throw new ArgumentException($"Issuer '{issuer.Subject}' has no private key to sign with.", nameof(issuer)));

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));

        // A certificate must not outlive its issuer, or chain building rejects it.
        var issuerNotAfter = new DateTimeOffset(issuer.NotAfter.ToUniversalTime());
        using var unkeyed = request.Create(issuer.SubjectName, generator, notBefore, notAfter < issuerNotAfter ? notAfter : issuerNotAfter, SerialNumber());
        return subjectKey switch
        {
            RSA rsa => unkeyed.CopyWithPrivateKey(rsa),
            ECDsa ecdsa => unkeyed.CopyWithPrivateKey(ecdsa),
            _ => throw new ArgumentException($"Unsupported key type {subjectKey.GetType().Name}.", nameof(subjectKey)),
        };
    }

    private static AsymmetricAlgorithm CreateKey(DevKeyAlgorithm algorithm) => algorithm switch
    {
        DevKeyAlgorithm.Rsa2048 => RSA.Create(2048),
        _ => ECDsa.Create(ECCurve.NamedCurves.nistP256),
    };

    private static (DateTimeOffset NotBefore, DateTimeOffset NotAfter) Validity(int validDays, TimeProvider? clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validDays);
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        return (now.AddDays(-1), now.AddDays(validDays));
    }

    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;  // positive, as RFC 5280 requires
        return serial;
    }

    private static X500DistinguishedName CommonName(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        return builder.Build();
    }
}
