using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace OrleansGateway.Certificates;

/// <summary>
/// Reads and checks certificate material without a data plane: what a certificate grain serves from a source, and
/// what a tenant uploads. Messages say what is wrong and never contain key material.
/// </summary>
public static class CertificateFiles
{
    private const string SecretTlsType = "kubernetes.io/tls";
    private const string SubjectAlternativeNameOid = "2.5.29.17";

    /// <summary>
    /// Null when <paramref name="material"/> can be served at <paramref name="now"/>: readable certificates whose first
    /// one has the key, within its validity period. Otherwise why not; <paramref name="info"/> is set whenever the
    /// first certificate is readable. Reads PEM as a Secret is read (<see cref="PemReader"/>).
    /// </summary>
    public static string? Check(CertificateMaterial material, DateTimeOffset now, out CertificateInfo? info)
    {
        ArgumentNullException.ThrowIfNull(material);
        info = null;
        if (material.TlsCrt is null)
        {
            return "it has no certificate (tls.crt)";
        }

        string? problem;
        X509Certificate2Collection read;
        if (material.TlsKey is null)
        {
            read = PemReader.ReadCertificates(material.TlsCrt, out problem);
            problem = problem is null ? "it has no private key" : NotReadable(problem);
        }
        else
        {
            var pair = PemReader.ReadKeyPair(material.TlsCrt, material.TlsKey);
            read = pair.Read;
            problem = pair.Problem switch
            {
                KeyPairProblem.None => null,
                KeyPairProblem.Certificate => NotReadable(pair.Detail!),
                KeyPairProblem.NoKey => "it has no private key (a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)",
                KeyPairProblem.EncryptedKey => "its private key is encrypted; import it unencrypted, or as a PFX with its password",
                KeyPairProblem.UnreadableKey => $"its private key cannot be read ({pair.Detail?.TrimEnd('.')}); import an unencrypted RSA or ECDSA key",
                _ => "its private key does not match its certificate; import the key that belongs to the certificate",
            };
        }

        try
        {
            info = read.Count > 0 ? Describe(read[0]) : null;
            if (problem is not null || info is null)
            {
                return problem;
            }

            if (now < info.NotBefore)
            {
                return $"it is not valid yet (notBefore {info.NotBefore:u})";
            }

            return now > info.NotAfter ? $"it expired at {info.NotAfter:u}; import a renewed certificate" : null;
        }
        finally
        {
            foreach (var certificate in read)
            {
                certificate.Dispose();
            }
        }

        static string NotReadable(string problem) => $"its certificate is not readable PEM/X.509: {problem.TrimEnd('.')}";
    }

    /// <summary>Subject, DNS SANs, validity and thumbprint of the first certificate of <paramref name="tlsCrt"/>; null when unreadable.</summary>
    public static CertificateInfo? Describe(string tlsCrt)
    {
        var certificates = PemReader.ReadCertificates(tlsCrt, out _);
        try
        {
            return certificates.Count > 0 ? Describe(certificates[0]) : null;
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>
    /// Turns an uploaded file (PEM: certificate, chain and unencrypted key; or PKCS#12/PFX, with
    /// <see cref="CertificateUpload.Password"/>) into Secret-shaped PEM material. Throws <see cref="FormatException"/>.
    /// </summary>
    public static CertificateMaterial ReadUpload(CertificateUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        if (upload.Content.Length == 0)
        {
            throw new FormatException("the uploaded certificate is empty; send PEM (certificate and key) or a PFX file.");
        }

        var text = LooksLikePem(upload.Content) ? Encoding.UTF8.GetString(upload.Content) : null;
        return text is not null ? FromPem(text) : FromPkcs12(upload.Content, upload.Password);
    }

    /// <summary>PEM text with CERTIFICATE blocks and one private key block → material; throws <see cref="FormatException"/>.</summary>
    public static CertificateMaterial FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var key = PemReader.FindPrivateKey(pem, out var encrypted);
        if (encrypted)
        {
            throw new FormatException("the uploaded private key is encrypted; decrypt it (openssl pkey -in key.pem -out plain.pem) or upload a PFX with its password.");
        }

        var certificates = new StringBuilder();
        foreach (var block in PemReader.Blocks(pem).Where(b => b.Label == PemReader.CertificateLabel))
        {
            certificates.Append(block.Text).Append('\n');
        }

        if (certificates.Length == 0)
        {
            throw new FormatException("the uploaded PEM has no CERTIFICATE block; send the certificate, its chain and its key.");
        }

        return key is null
            ? throw new FormatException("the uploaded PEM has no private key block (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY).")
            : new CertificateMaterial(SecretTlsType, certificates.ToString(), key + "\n", null);
    }

    /// <summary>A PKCS#12 file → material: the certificate with a key first, then the others as its chain.</summary>
    public static CertificateMaterial FromPkcs12(byte[] pfx, string? password)
    {
        X509Certificate2Collection all;
        try
        {
            all = X509CertificateLoader.LoadPkcs12Collection(pfx, password, X509KeyStorageFlags.Exportable | X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException)
        {
            throw new FormatException("the uploaded file is neither PEM nor a readable PFX (PKCS#12); check the file and its password.");
        }

        try
        {
            var leaf = all.FirstOrDefault(c => c.HasPrivateKey)
                ?? throw new FormatException("the uploaded PFX has no certificate with a private key.");
            var crt = new StringBuilder(leaf.ExportCertificatePem()).Append('\n');
            foreach (var other in all.Where(c => !ReferenceEquals(c, leaf)))
            {
                crt.Append(other.ExportCertificatePem()).Append('\n');
            }

            return new CertificateMaterial(SecretTlsType, crt.ToString(), ExportKey(leaf), null);
        }
        finally
        {
            foreach (var c in all)
            {
                c.Dispose();
            }
        }
    }

    /// <summary>
    /// The certificate, its chain and key, prepared for <see cref="System.Net.Security.SslStream"/> as a server certificate
    /// (chain built offline from the material only). Check the material with <see cref="Check"/> first; throws
    /// <see cref="FormatException"/> when it still cannot serve.
    /// </summary>
    public static System.Net.Security.SslStreamCertificateContext ToServerContext(CertificateMaterial material)
    {
        ArgumentNullException.ThrowIfNull(material);
        if (material.TlsCrt is null || material.TlsKey is null)
        {
            throw new FormatException("the certificate needs tls.crt and tls.key to be served.");
        }

        var pair = PemReader.ReadKeyPair(material.TlsCrt, material.TlsKey);
        if (pair.Certificate is null)
        {
            throw new FormatException($"the certificate and its key cannot be read as a pair ({pair.Problem}).");
        }

        try
        {
            return System.Net.Security.SslStreamCertificateContext.Create(pair.Certificate, pair.Chain, offline: true);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or NotSupportedException)
        {
            throw new FormatException($"the certificate '{pair.Certificate.Subject}' cannot serve TLS: {e.Message}", e);
        }
    }

    /// <summary>The material as a PKCS#12 file without password (certificate with key, then the chain), for stores that take PFX.</summary>
    public static byte[] ToPkcs12(CertificateMaterial material)
    {
        ArgumentNullException.ThrowIfNull(material);
        if (material.TlsCrt is null || material.TlsKey is null)
        {
            throw new FormatException("the certificate needs tls.crt and tls.key to be stored as PKCS#12.");
        }

        using var leaf = X509Certificate2.CreateFromPem(material.TlsCrt, material.TlsKey);
        var collection = new X509Certificate2Collection(leaf);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(material.TlsCrt);
        foreach (var c in chain.Skip(1))
        {
            collection.Add(c);
        }

        try
        {
            return collection.Export(X509ContentType.Pkcs12)!;
        }
        finally
        {
            foreach (var c in chain)
            {
                c.Dispose();
            }
        }
    }

    private static string ExportKey(X509Certificate2 leaf)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)leaf.GetRSAPrivateKey() ?? (AsymmetricAlgorithm?)leaf.GetECDsaPrivateKey()
            ?? throw new FormatException("the certificate's key is neither RSA nor ECDSA; use one of those.");
        return key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    private static bool LooksLikePem(byte[] content) =>
        content.AsSpan().IndexOf("-----BEGIN "u8) >= 0;

    private static CertificateInfo Describe(X509Certificate2 certificate)
    {
        var names = ImmutableArray.CreateBuilder<string>();
        foreach (var extension in certificate.Extensions.Where(e => e.Oid?.Value == SubjectAlternativeNameOid))
        {
            names.AddRange(new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical).EnumerateDnsNames());
        }

        var (notBefore, notAfter) = PemReader.Validity(certificate);
        return new CertificateInfo(certificate.Subject, names.ToImmutable(), notBefore, notAfter, certificate.Thumbprint);
    }
}
