using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Certificates;

/// <summary>
/// Certificates parsed once from Secret resources (PEM in <c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>).
/// Immutable after <see cref="FromSecrets(IEnumerable{SecretResource}, out ImmutableArray{Diagnostic})"/>: lookups are
/// O(1) reads of a frozen dictionary, safe from any thread, and return the same certificate objects every time.
/// A Secret that cannot be used is left out (lookups return null) and reported as a Diagnostic instead.
/// The returned certificates and collections are shared by every caller: never modify or dispose them.
/// </summary>
public sealed class SecretCertificateProvider : ICertificateProvider, IServerCertificateContexts
{
    private const string TlsCrt = "tls.crt";
    private const string TlsKey = "tls.key";
    private const string CaCrt = "ca.crt";

    private readonly FrozenDictionary<SecretRef, Entry> _entries;

    private SecretCertificateProvider(FrozenDictionary<SecretRef, Entry> entries) => _entries = entries;

    public static SecretCertificateProvider FromSecrets(IEnumerable<SecretResource> secrets, out ImmutableArray<Diagnostic> problems)
        => FromSecrets(secrets, TimeProvider.System, out problems);

    /// <param name="clock">"Now" for the expiry warnings.</param>
    public static SecretCertificateProvider FromSecrets(
        IEnumerable<SecretResource> secrets, TimeProvider clock, out ImmutableArray<Diagnostic> problems)
    {
        var diagnostics = ImmutableArray.CreateBuilder<Diagnostic>();
        var entries = new Dictionary<SecretRef, Entry>();
        var now = clock.GetUtcNow();
        foreach (var secret in secrets)
        {
            var key = new SecretRef(secret.Namespace, secret.Name);
            if (entries.ContainsKey(key))
            {
                diagnostics.Add(Problem(secret, Severity.Warning, DiagnosticCodes.SecretDuplicate, null,
                    "defined more than once; the first definition is used. Remove the duplicate."));
                continue;
            }

            var entry = new SecretParser(secret, now, diagnostics).Parse();
            if (entry is not null)
            {
                entries.Add(key, entry);
            }
        }

        problems = diagnostics.ToImmutable();
        return new SecretCertificateProvider(entries.ToFrozenDictionary());
    }

    public X509Certificate2? GetCertificate(SecretRef secret) => _entries.GetValueOrDefault(secret)?.Certificate;

    public X509Certificate2Collection GetChain(SecretRef secret) => _entries.GetValueOrDefault(secret)?.Chain ?? [];

    public X509Certificate2Collection? GetCaCertificates(SecretRef secret) => _entries.GetValueOrDefault(secret)?.Ca;

    /// <summary>
    /// The certificate with its chain, prepared once for <see cref="SslStream"/> so that handshakes do not rebuild the
    /// chain (built offline from <c>tls.crt</c> only: no AIA fetch on the data path). Null when the secret has no key pair.
    /// </summary>
    public SslStreamCertificateContext? GetServerContext(SecretRef secret) => _entries.GetValueOrDefault(secret)?.Context;

    internal static Diagnostic Problem(SecretResource secret, Severity severity, string code, string? field, string message)
        => new(severity, code, message, secret.Ref, secret.Source, field);

    private sealed record Entry(
        X509Certificate2? Certificate,
        X509Certificate2Collection Chain,
        X509Certificate2Collection? Ca,
        SslStreamCertificateContext? Context);

    /// <summary>Turns one Secret into an entry, adding a Diagnostic for every problem; never throws.</summary>
    private sealed class SecretParser(SecretResource secret, DateTimeOffset now, ImmutableArray<Diagnostic>.Builder diagnostics)
    {
        public Entry? Parse()
        {
            var crt = secret.TlsCrt;
            var key = secret.TlsKey;
            var ca = secret.CaCrt;
            if (IsMissing(crt) && IsMissing(key) && IsMissing(ca))
            {
                // Secrets of other types (tokens, passwords) are none of our business unless they claim to hold TLS material.
                if (secret.Type == "kubernetes.io/tls" || crt is not null || key is not null || ca is not null)
                {
                    Error(DiagnosticCodes.SecretEmpty, crt is null ? null : TlsCrt,
                        "holds no certificate: expected PEM in tls.crt and tls.key (a TLS secret) or in ca.crt (a CA secret).");
                }

                return null;
            }

            X509Certificate2? certificate = null;
            X509Certificate2Collection chain = [];
            SslStreamCertificateContext? context = null;
            X509Certificate2Collection? caCertificates = null;

            if (!IsMissing(key))
            {
                if (IsMissing(crt))
                {
                    Error(DiagnosticCodes.SecretPem, TlsCrt, "is missing but tls.key is set: put the certificate (PEM, leaf first) in tls.crt.");
                    return null;
                }

                if (!TryLoadKeyPair(crt!, key!, out certificate, out chain))
                {
                    return null;
                }

                context = CreateContext(certificate!, chain);
                if (context is null)
                {
                    return null;
                }
            }

            if (!IsMissing(ca))
            {
                caCertificates = LoadCertificates(ca!, CaCrt);
            }
            else if (IsMissing(key))
            {
                // As Emissary reads a ca_secret: the certificates of tls.crt when there is no key.
                caCertificates = LoadCertificates(crt!, TlsCrt);
            }

            if (certificate is null && caCertificates is null)
            {
                return null;
            }

            return new Entry(certificate, chain, caCertificates, context);
        }

        private bool TryLoadKeyPair(string crt, string key, out X509Certificate2? certificate, out X509Certificate2Collection chain)
        {
            var pair = PemReader.ReadKeyPair(crt, key);
            WarnIfNotValidNow(pair.Read, TlsCrt);
            certificate = pair.Certificate;
            chain = pair.Chain;
            switch (pair.Problem)
            {
                case KeyPairProblem.None:
                    return true;
                case KeyPairProblem.Certificate:
                    Error(DiagnosticCodes.SecretPem, TlsCrt, pair.Detail!);
                    break;
                case KeyPairProblem.EncryptedKey:
                    Error(DiagnosticCodes.SecretPem, TlsKey, "holds an encrypted private key; store it unencrypted (openssl pkey -in key.pem -out tls.key).");
                    break;
                case KeyPairProblem.NoKey:
                    Error(DiagnosticCodes.SecretPem, TlsKey, "holds no PEM private key: expected a PRIVATE KEY (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY block.");
                    break;
                case KeyPairProblem.UnreadableKey:
                    Error(DiagnosticCodes.SecretPem, TlsKey,
                        $"cannot be read: {pair.Detail} Supported: unencrypted RSA or ECDSA keys, PKCS#1/SEC1 or PKCS#8 PEM.");
                    break;
                default:
                    Error(DiagnosticCodes.SecretKeyMismatch, TlsKey,
                        $"does not match the certificate in tls.crt ('{pair.Read[0].Subject}'): put the key of that certificate in tls.key, or its certificate first in tls.crt.");
                    break;
            }

            return false;
        }

        private SslStreamCertificateContext? CreateContext(X509Certificate2 certificate, X509Certificate2Collection chain)
        {
            try
            {
                return SslStreamCertificateContext.Create(certificate, chain, offline: true);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException or NotSupportedException)
            {
                Error(DiagnosticCodes.SecretPem, TlsCrt, $"cannot be used to serve TLS ('{certificate.Subject}'): {e.Message}");
                return null;
            }
        }

        /// <summary>Every CERTIFICATE block of a PEM text, with expiry warnings; null (and an error) when there is none or one is bad.</summary>
        private X509Certificate2Collection? LoadCertificates(string pem, string field)
        {
            var certificates = PemReader.ReadCertificates(pem, out var problem);
            WarnIfNotValidNow(certificates, field);
            if (problem is not null)
            {
                Error(DiagnosticCodes.SecretPem, field, problem);
                return null;
            }

            return certificates;
        }

        private void WarnIfNotValidNow(X509Certificate2Collection certificates, string field)
        {
            for (var i = 0; i < certificates.Count; i++)
            {
                var certificate = certificates[i];
                var (notBefore, notAfter) = PemReader.Validity(certificate);
                var which = i == 0 ? "the certificate" : $"certificate #{i + 1}";
                if (notAfter < now)
                {
                    Warning(DiagnosticCodes.SecretExpired, field,
                        $"{which} ('{certificate.Subject}') expired on {Format(notAfter)}; peers will refuse it. Renew it.");
                }
                else if (notBefore > now)
                {
                    Warning(DiagnosticCodes.SecretNotYetValid, field,
                        $"{which} ('{certificate.Subject}') is not valid before {Format(notBefore)}; peers will refuse it until then. Check the issuer's clock.");
                }
            }
        }

        private static bool IsMissing(string? value) => string.IsNullOrWhiteSpace(value);

        private static string Format(DateTimeOffset time) => time.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

        private void Error(string code, string? field, string message) => diagnostics.Add(Problem(secret, Severity.Error, code, field, message));

        private void Warning(string code, string? field, string message) => diagnostics.Add(Problem(secret, Severity.Warning, code, field, message));
    }
}
