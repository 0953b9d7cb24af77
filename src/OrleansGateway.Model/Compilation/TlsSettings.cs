using System.Collections.Immutable;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>Validated TLS parameters of a TLSContext or a Host (versions parsed, secrets resolved and checked).</summary>
internal sealed record TlsSettings(
    TlsVersion? MinVersion,
    TlsVersion? MaxVersion,
    ImmutableArray<string> CipherSuites,
    ImmutableArray<string> AlpnProtocols,
    SecretRef? CaSecret,
    bool CertRequired,
    string? Sni)
{
    /// <summary>Reads <paramref name="tls"/>; returns null with <paramref name="error"/> when a version or the CA is unusable.</summary>
    public static TlsSettings? Read(TlsParameters tls, string ownerNamespace, bool secretNamespacing, SecretCatalog secrets,
        string fieldPrefix, out string? error, out string? field)
    {
        field = null;
        var min = ParseVersion(tls.MinTlsVersion, "min_tls_version", out error);
        if (error is not null)
        {
            field = fieldPrefix + "min_tls_version";
            return null;
        }

        var max = ParseVersion(tls.MaxTlsVersion, "max_tls_version", out error);
        if (error is not null)
        {
            field = fieldPrefix + "max_tls_version";
            return null;
        }

        if (min is { } lo && max is { } hi && lo > hi)
        {
            error = $"min_tls_version {tls.MinTlsVersion} is above max_tls_version {tls.MaxTlsVersion}; no TLS version is left.";
            field = fieldPrefix + "min_tls_version";
            return null;
        }

        SecretRef? ca = null;
        if (tls.CaSecret is { Length: > 0 } caName)
        {
            ca = secrets.Resolve(caName, ownerNamespace, secretNamespacing);
            error = secrets.CheckCa(ca);
            if (error is not null)
            {
                error = $"ca_secret: {error}.";
                field = fieldPrefix + "ca_secret";
                return null;
            }
        }

        if (tls.CertRequired == true && ca is null)
        {
            // Caught here rather than at the first handshake, so `ogw check` and the gateway agree.
            error = "cert_required is true but there is no ca_secret to verify client certificates with, so no handshake could succeed. " +
                "Add ca_secret naming a Secret with the CA (ca.crt), or remove cert_required.";
            field = fieldPrefix + "cert_required";
            return null;
        }

        return new TlsSettings(min, max, NonDefault(tls.CipherSuites), NonDefault(tls.AlpnProtocols), ca, tls.CertRequired ?? false,
            string.IsNullOrWhiteSpace(tls.Sni) ? null : tls.Sni.Trim());
    }

    private static ImmutableArray<string> NonDefault(ImmutableArray<string> values) => values.IsDefault ? [] : values;

    private static TlsVersion? ParseVersion(string? written, string name, out string? error)
    {
        error = null;
        switch (written?.Trim().ToLowerInvariant())
        {
            case null or "":
                return null;
            case "v1.0":
                return TlsVersion.Tls10;
            case "v1.1":
                return TlsVersion.Tls11;
            case "v1.2":
                return TlsVersion.Tls12;
            case "v1.3":
                return TlsVersion.Tls13;
            default:
                error = $"{name} '{written}' is not a TLS version; use v1.0, v1.1, v1.2 or v1.3.";
                return null;
        }
    }
}
