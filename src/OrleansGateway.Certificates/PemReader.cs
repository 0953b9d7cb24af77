using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansGateway.Certificates;

/// <summary>What is wrong with a certificate and its key (<see cref="PemReader.ReadKeyPair"/>).</summary>
internal enum KeyPairProblem
{
    None,

    /// <summary>The certificate text has no certificate, or one is not X.509 (the detail says which).</summary>
    Certificate,

    /// <summary>The key text has no PEM private-key block.</summary>
    NoKey,

    /// <summary>The private key is encrypted (nothing here can decrypt it).</summary>
    EncryptedKey,

    /// <summary>The private key cannot be read as RSA or ECDSA (the detail has the platform's reason).</summary>
    UnreadableKey,

    /// <summary>The key is readable but is not the key of the first certificate.</summary>
    Mismatch,
}

/// <summary>
/// A certificate (the first of its text) with its private key and the rest of its text as the chain.
/// <see cref="Read"/> holds every certificate read (on a problem, those before it), so that they can be described.
/// </summary>
internal sealed record KeyPair(
    X509Certificate2? Certificate, X509Certificate2Collection Chain, X509Certificate2Collection Read, KeyPairProblem Problem, string? Detail);

/// <summary>
/// The one reading of PEM certificate material: the certificate blocks of <c>tls.crt</c> or <c>ca.crt</c>, the
/// private-key block of <c>tls.key</c>, and whether key and certificate pair. Secrets
/// (<see cref="SecretCertificateProvider"/>), uploads and certificate sources (<see cref="CertificateFiles"/>) all read
/// through it, so they accept and refuse the same material; each says what is wrong in its own words.
/// </summary>
internal static class PemReader
{
    public const string CertificateLabel = "CERTIFICATE";

    /// <summary>A PEM block: its label, the whole block as text, its base64 payload.</summary>
    public readonly record struct Block(string Label, string Text, string Base64);

    /// <summary>Every PEM block of <paramref name="pem"/>, in order (text between blocks is skipped).</summary>
    public static IEnumerable<Block> Blocks(string pem)
    {
        var offset = 0;
        while (TryFind(pem, ref offset, out var block))
        {
            yield return block;
        }
    }

    private static bool TryFind(string pem, ref int offset, out Block block)
    {
        var text = pem.AsSpan(offset);
        if (!PemEncoding.TryFind(text, out var fields))
        {
            block = default;
            return false;
        }

        block = new Block(text[fields.Label].ToString(), text[fields.Location].ToString(), text[fields.Base64Data].ToString());
        offset += fields.Location.End.GetOffset(text.Length);
        return true;
    }

    /// <summary>
    /// Every CERTIFICATE block, in order. <paramref name="problem"/> is null when there is at least one and all are
    /// X.509; otherwise it says what is wrong, and the result holds the certificates before the bad one.
    /// </summary>
    public static X509Certificate2Collection ReadCertificates(string pem, out string? problem)
    {
        problem = null;
        var certificates = new X509Certificate2Collection();
        var index = 0;
        foreach (var block in Blocks(pem).Where(b => b.Label == CertificateLabel))
        {
            index++;
            try
            {
                certificates.Add(X509CertificateLoader.LoadCertificate(Convert.FromBase64String(block.Base64)));
            }
            catch (Exception e) when (e is CryptographicException or FormatException)
            {
                problem = $"certificate #{index} is not a valid X.509 certificate ({e.Message.TrimEnd('.')}); re-export it as PEM.";
                return certificates;
            }
        }

        if (certificates.Count == 0)
        {
            problem = "holds no PEM certificate: expected one or more '-----BEGIN CERTIFICATE-----' blocks (base64 in data:, plain text in stringData:).";
        }

        return certificates;
    }

    /// <summary>
    /// The private-key block (PKCS#8 <c>PRIVATE KEY</c>, PKCS#1 <c>RSA PRIVATE KEY</c> or SEC1 <c>EC PRIVATE KEY</c>) of
    /// <paramref name="pem"/>, or null; <paramref name="encrypted"/> when the key is encrypted (PKCS#8
    /// <c>ENCRYPTED PRIVATE KEY</c> or OpenSSL's traditional encryption headers), which is then never returned.
    /// </summary>
    public static string? FindPrivateKey(string pem, out bool encrypted)
    {
        encrypted = pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal)
            || pem.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal);
        return encrypted
            ? null
            : Blocks(pem).Where(b => b.Label is "PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY").Select(b => b.Text).FirstOrDefault();
    }

    /// <summary>
    /// The certificates of <paramref name="crt"/> and the key of <paramref name="key"/>, checked in this order: the
    /// certificates are X.509, there is an unencrypted key block, the key is readable, it is the first certificate's.
    /// </summary>
    public static KeyPair ReadKeyPair(string crt, string key)
    {
        var all = ReadCertificates(crt, out var problem);
        if (problem is not null)
        {
            return new KeyPair(null, [], all, KeyPairProblem.Certificate, problem);
        }

        if (FindPrivateKey(key, out var encrypted) is null)
        {
            return new KeyPair(null, [], all, encrypted ? KeyPairProblem.EncryptedKey : KeyPairProblem.NoKey, null);
        }

        if (!CanReadKey(key, out var keyError))
        {
            return new KeyPair(null, [], all, KeyPairProblem.UnreadableKey, keyError);
        }

        X509Certificate2 certificate;
        try
        {
            // CreateFromPem pairs the first CERTIFICATE block with the key and checks that they match.
            certificate = X509Certificate2.CreateFromPem(crt, key);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // The key is readable on its own, so it is the wrong one (or of another algorithm than the certificate).
            return new KeyPair(null, [], all, KeyPairProblem.Mismatch, null);
        }

        // CreateFromPem made its own copy of the leaf; only the rest of the text is kept.
        all[0].Dispose();
        X509Certificate2Collection chain = [.. all.Skip(1)];
        return new KeyPair(certificate, chain, [certificate, .. chain], KeyPairProblem.None, null);
    }

    /// <summary>The certificate's validity period in UTC.</summary>
    public static (DateTimeOffset NotBefore, DateTimeOffset NotAfter) Validity(X509Certificate2 certificate) =>
        (new DateTimeOffset(certificate.NotBefore.ToUniversalTime()), new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));

    private static bool CanReadKey(string pem, out string? error)
    {
        error = null;
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            error = e.Message;
        }

        try
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportFromPem(pem);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // Report the ECDSA error only when the block claimed to be EC; otherwise the RSA one is more telling.
            error = pem.Contains("EC PRIVATE KEY", StringComparison.Ordinal) ? e.Message : error;
            return false;
        }
    }
}
