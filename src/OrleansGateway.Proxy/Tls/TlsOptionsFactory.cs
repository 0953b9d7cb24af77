using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy.Tls;

/// <summary>
/// Turns the plan's TLS records into <see cref="SslStream"/> options. The engine builds them once per route and
/// reuses them for every connection, so everything costly (certificate contexts, chain policies, cipher
/// policies) is prepared here and the callbacks only read immutable state.
/// </summary>
public static class TlsOptionsFactory
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    // Envoy's cipher_suites only restricts TLS 1.0-1.2 (BoringSSL's TLS 1.3 suites are fixed). OpenSSL, behind
    // CipherSuitesPolicy, would turn TLS 1.3 off when the list has no TLS 1.3 suite, so these are added then.
    private static readonly TlsCipherSuite[] DefaultTls13Suites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>The OpenSSL names Emissary/Envoy users write (Envoy's documented defaults and the usual Mozilla lists).</summary>
    private static readonly FrozenDictionary<string, TlsCipherSuite> OpenSslNames = new Dictionary<string, TlsCipherSuite>(StringComparer.OrdinalIgnoreCase)
    {
        ["ECDHE-ECDSA-AES128-GCM-SHA256"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ["ECDHE-RSA-AES128-GCM-SHA256"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ["ECDHE-ECDSA-AES256-GCM-SHA384"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ["ECDHE-RSA-AES256-GCM-SHA384"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ["ECDHE-ECDSA-CHACHA20-POLY1305"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ["ECDHE-RSA-CHACHA20-POLY1305"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ["ECDHE-PSK-CHACHA20-POLY1305"] = TlsCipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
        ["ECDHE-ECDSA-AES128-SHA256"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        ["ECDHE-RSA-AES128-SHA256"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        ["ECDHE-ECDSA-AES256-SHA384"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        ["ECDHE-RSA-AES256-SHA384"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
        ["ECDHE-ECDSA-AES128-SHA"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        ["ECDHE-RSA-AES128-SHA"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        ["ECDHE-ECDSA-AES256-SHA"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        ["ECDHE-RSA-AES256-SHA"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        ["ECDHE-PSK-AES128-CBC-SHA"] = TlsCipherSuite.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA,
        ["ECDHE-PSK-AES256-CBC-SHA"] = TlsCipherSuite.TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA,
        ["DHE-RSA-AES128-GCM-SHA256"] = TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
        ["DHE-RSA-AES256-GCM-SHA384"] = TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
        ["DHE-RSA-CHACHA20-POLY1305"] = TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ["AES128-GCM-SHA256"] = TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        ["AES256-GCM-SHA384"] = TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        ["AES128-SHA256"] = TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
        ["AES256-SHA256"] = TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256,
        ["AES128-SHA"] = TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
        ["AES256-SHA"] = TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        ["PSK-AES128-CBC-SHA"] = TlsCipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA,
        ["PSK-AES256-CBC-SHA"] = TlsCipherSuite.TLS_PSK_WITH_AES_256_CBC_SHA,
        ["DES-CBC3-SHA"] = TlsCipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Options for terminating downstream TLS with <paramref name="t"/>; null with <paramref name="error"/> (naming the
    /// resource, the field and what to do) when the certificate is missing or a parameter cannot be honoured.
    /// </summary>
    public static SslServerAuthenticationOptions? ForTermination(TlsTermination t, ICertificateProvider certs, out string? error)
    {
        var owner = t.CertificateSource.ToString();
        var context = CertificateContext(certs, t.Certificate);
        if (context is null)
        {
            error = $"{owner}: Secret '{t.Certificate}' has no usable certificate and key (missing, or rejected when loaded); create it as a kubernetes.io/tls Secret with tls.crt and tls.key.";
            return null;
        }

        if (!TryCommon(owner, t.MinVersion, t.MaxVersion, t.CipherSuites, t.AlpnProtocols, out var common, out error))
        {
            return null;
        }

        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = context,
            EnabledSslProtocols = common.Protocols,
            CipherSuitesPolicy = common.Ciphers,
            ApplicationProtocols = common.Alpn,
            AllowRenegotiation = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificateRequired = false,
        };

        if (t.ClientCa is null)
        {
            if (t.ClientCertificateRequired)
            {
                error = $"{owner}: cert_required is true but there is no ca_secret to verify client certificates with; set ca_secret.";
                return null;
            }

            return options;
        }

        var ca = certs.GetCaCertificates(t.ClientCa);
        if (ca is null || ca.Count == 0)
        {
            error = $"{owner}: ca_secret '{t.ClientCa}' has no usable CA certificate (missing, or rejected when loaded); put the CA in ca.crt.";
            return null;
        }

        // Always ask, so that a presented certificate is verified even when it is optional (Envoy's behaviour).
        var required = t.ClientCertificateRequired;
        options.ClientCertificateRequired = true;
        options.CertificateChainPolicy = ChainPolicy(ca, ClientAuth);
        options.RemoteCertificateValidationCallback = (_, certificate, _, errors) => certificate is null
            ? !required
            : (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        return options;
    }

    /// <summary>
    /// The options to use for one client, given its peeked ClientHello. Envoy (BoringSSL) carries on without ALPN when
    /// the client's protocols and <c>alpn_protocols</c> do not overlap; .NET's server would fail the handshake
    /// (no_application_protocol). So when they do not overlap this returns a copy of <paramref name="prepared"/>
    /// without ALPN (made once per options object); otherwise <paramref name="prepared"/> itself.
    /// </summary>
    public static SslServerAuthenticationOptions ForClientHello(SslServerAuthenticationOptions prepared, ClientHelloInfo hello)
    {
        if (prepared.ApplicationProtocols is not { Count: > 0 } configured || hello.AlpnProtocols.IsDefaultOrEmpty)
        {
            return prepared;
        }

        foreach (var offered in hello.AlpnProtocols)
        {
            foreach (var protocol in configured)
            {
                if (SameProtocol(protocol.Protocol.Span, offered))
                {
                    return prepared;
                }
            }
        }

        return WithoutAlpn.GetValue(prepared, static options => new SslServerAuthenticationOptions
        {
            ServerCertificateContext = options.ServerCertificateContext,
            ServerCertificate = options.ServerCertificate,
            ServerCertificateSelectionCallback = options.ServerCertificateSelectionCallback,
            EnabledSslProtocols = options.EnabledSslProtocols,
            CipherSuitesPolicy = options.CipherSuitesPolicy,
            EncryptionPolicy = options.EncryptionPolicy,
            AllowRenegotiation = options.AllowRenegotiation,
            AllowTlsResume = options.AllowTlsResume,
            CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
            ClientCertificateRequired = options.ClientCertificateRequired,
            CertificateChainPolicy = options.CertificateChainPolicy,
            RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
            ApplicationProtocols = null,
        });
    }

    /// <summary>
    /// Options for originating TLS to an upstream with <paramref name="o"/>. Without <c>TrustedCa</c> any server
    /// certificate is accepted (Emissary's <c>https://</c> without <c>ca_secret</c>); with it, the chain must end at that
    /// CA, and the host name is not checked (Envoy without SAN matching).
    /// </summary>
    public static SslClientAuthenticationOptions? ForOrigination(TlsOrigination o, ICertificateProvider certs, out string? error)
    {
        var owner = o.Context?.ToString() ?? "https:// upstream";
        if (!TryCommon(owner, o.MinVersion, o.MaxVersion, o.CipherSuites, o.AlpnProtocols, out var common, out error))
        {
            return null;
        }

        var options = new SslClientAuthenticationOptions
        {
            TargetHost = o.Sni ?? "",
            EnabledSslProtocols = common.Protocols,
            CipherSuitesPolicy = common.Ciphers,
            ApplicationProtocols = common.Alpn,
            AllowRenegotiation = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };

        if (o.ClientCertificate is not null)
        {
            var context = CertificateContext(certs, o.ClientCertificate);
            if (context is null)
            {
                error = $"{owner}: Secret '{o.ClientCertificate}' has no usable certificate and key for the client certificate; create it as a kubernetes.io/tls Secret with tls.crt and tls.key.";
                return null;
            }

            options.ClientCertificateContext = context;
        }

        if (o.TrustedCa is null)
        {
            options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
            return options;
        }

        var ca = certs.GetCaCertificates(o.TrustedCa);
        if (ca is null || ca.Count == 0)
        {
            error = $"{owner}: ca_secret '{o.TrustedCa}' has no usable CA certificate (missing, or rejected when loaded); put the CA in ca.crt.";
            return null;
        }

        options.CertificateChainPolicy = ChainPolicy(ca, ServerAuth);
        options.RemoteCertificateValidationCallback = static (_, certificate, _, errors) =>
            certificate is not null && (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        return options;
    }

    /// <summary>Maps an OpenSSL (<c>ECDHE-RSA-AES128-GCM-SHA256</c>) or IANA (<c>TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</c>) name.</summary>
    public static bool TryParseCipherSuite(string name, out TlsCipherSuite suite)
    {
        var trimmed = name.Trim();
        if (OpenSslNames.TryGetValue(trimmed, out suite))
        {
            return true;
        }

        // Enum.TryParse would also take numbers and comma lists; only accept a defined IANA name.
        return trimmed.StartsWith("TLS_", StringComparison.Ordinal)
            && !trimmed.Contains(',')
            && Enum.TryParse(trimmed, ignoreCase: false, out suite)
            && Enum.IsDefined(suite);
    }

    /// <summary>
    /// Envoy's range when only one bound is set: at least TLS 1.2 and at most TLS 1.3. Both unset leaves the choice
    /// to the platform (<see cref="SslProtocols.None"/>), which on Linux is OpenSSL's policy (TLS 1.2 and 1.3).
    /// </summary>
    public static SslProtocols ToSslProtocols(TlsVersion? min, TlsVersion? max)
    {
        if (min is null && max is null)
        {
            return SslProtocols.None;
        }

        var low = min ?? TlsVersion.Tls12;
        var high = max ?? TlsVersion.Tls13;
        var protocols = SslProtocols.None;
        for (var v = low; v <= high; v++)
        {
            protocols |= v switch
            {
#pragma warning disable SYSLIB0039 // TLS 1.0/1.1 are obsolete, but a TLSContext may ask for them (v1.0, v1.1).
                TlsVersion.Tls10 => SslProtocols.Tls,
                TlsVersion.Tls11 => SslProtocols.Tls11,
#pragma warning restore SYSLIB0039
                TlsVersion.Tls12 => SslProtocols.Tls12,
                _ => SslProtocols.Tls13,
            };
        }

        return protocols;
    }

    private sealed record Common(SslProtocols Protocols, CipherSuitesPolicy? Ciphers, List<SslApplicationProtocol>? Alpn);

    private static bool TryCommon(
        string owner,
        TlsVersion? min,
        TlsVersion? max,
        ImmutableArray<string> cipherSuites,
        ImmutableArray<string> alpnProtocols,
        out Common common,
        out string? error)
    {
        common = new Common(SslProtocols.None, null, null);
        error = null;
        if (min is not null && max is not null && min > max)
        {
            error = $"{owner}: min_tls_version {Format(min.Value)} is above max_tls_version {Format(max.Value)}; swap or correct them.";
            return false;
        }

        if (min is null && max < TlsVersion.Tls12)
        {
            error = $"{owner}: max_tls_version {Format(max.Value)} is below the default minimum v1.2; also set min_tls_version.";
            return false;
        }

        CipherSuitesPolicy? ciphers = null;
        if (!cipherSuites.IsDefaultOrEmpty && !TryCipherPolicy(owner, cipherSuites, out ciphers, out error))
        {
            return false;
        }

        List<SslApplicationProtocol>? alpn = null;
        if (!alpnProtocols.IsDefaultOrEmpty)
        {
            alpn = [];
            foreach (var protocol in alpnProtocols.SelectMany(p => p.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
            {
                if (protocol.Length > 255)
                {
                    error = $"{owner}: alpn_protocols entry '{protocol[..20]}...' is longer than 255 bytes; ALPN ids are short tokens such as h2 or http/1.1.";
                    return false;
                }

                alpn.Add(new SslApplicationProtocol(protocol));
            }
        }

        common = new Common(ToSslProtocols(min, max), ciphers, alpn is { Count: > 0 } ? alpn : null);
        return true;
    }

    private static bool TryCipherPolicy(string owner, ImmutableArray<string> names, out CipherSuitesPolicy? policy, out string? error)
    {
        policy = null;
        error = null;
        var suites = new List<TlsCipherSuite>();
        foreach (var written in names)
        {
            // BoringSSL's equal-preference groups, as in Envoy's default list: [A|B].
            foreach (var name in written.Trim().Trim('[', ']').Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!TryParseCipherSuite(name, out var suite))
                {
                    error = $"{owner}: cipher_suites has unknown cipher suite '{name}'; use an OpenSSL name such as ECDHE-RSA-AES128-GCM-SHA256 or an IANA name such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.";
                    return false;
                }

                if (!suites.Contains(suite))
                {
                    suites.Add(suite);
                }
            }
        }

        if (!suites.Exists(s => DefaultTls13Suites.Contains(s)))
        {
            suites.AddRange(DefaultTls13Suites);
        }

        if (OperatingSystem.IsWindows())
        {
            // SChannel takes no per-connection cipher list.
            error = $"{owner}: cipher_suites cannot be restricted on Windows; remove cipher_suites or run on Linux.";
            return false;
        }

        policy = new CipherSuitesPolicy(suites);
        return true;
    }

    private static SslStreamCertificateContext? CertificateContext(ICertificateProvider certs, SecretRef secret)
    {
        if (certs is IServerCertificateContexts prepared)
        {
            return prepared.GetServerContext(secret);
        }

        var certificate = certs.GetCertificate(secret);
        if (certificate is null || !certificate.HasPrivateKey)
        {
            return null;
        }

        try
        {
            return SslStreamCertificateContext.Create(certificate, certs.GetChain(secret), offline: true);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>
    /// Trust exactly <paramref name="ca"/>: no system roots, no revocation, no downloads; the peer's own intermediates
    /// come from the handshake. <paramref name="purpose"/> requires the matching EKU when the peer's certificate has one.
    /// </summary>
    /// <remarks>SslStream clones the policy for each connection, so one instance is safely shared by every handshake.</remarks>
    private static X509ChainPolicy ChainPolicy(X509Certificate2Collection ca, Oid purpose)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(ca);
        policy.ApplicationPolicy.Add(purpose);
        return policy;
    }

    private static readonly ConditionalWeakTable<SslServerAuthenticationOptions, SslServerAuthenticationOptions> WithoutAlpn = new();

    /// <summary>Compares ALPN id bytes with a peeked id (Latin-1, one char per byte) without allocating.</summary>
    private static bool SameProtocol(ReadOnlySpan<byte> configured, string offered)
    {
        if (configured.Length != offered.Length)
        {
            return false;
        }

        for (var i = 0; i < configured.Length; i++)
        {
            if (configured[i] != offered[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string Format(TlsVersion version) => version switch
    {
        TlsVersion.Tls10 => "v1.0",
        TlsVersion.Tls11 => "v1.1",
        TlsVersion.Tls12 => "v1.2",
        _ => "v1.3",
    };
}
