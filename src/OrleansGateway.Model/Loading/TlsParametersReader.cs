using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// The TLS settings TLSContext has in its <c>spec</c> and Host has in <c>spec.tls</c> (same snake_case names in
/// Emissary), gathered into <see cref="TlsParameters"/>.
/// </summary>
internal sealed class TlsParametersReader(FieldReader reader, string prefix)
{
    public TlsParameters Value { get; private set; } = new();

    /// <summary>Whether any TLS parameter was read (a Host without <c>spec.tls</c> keeps <c>Tls = null</c>).</summary>
    public bool Any { get; private set; }

    /// <summary>Reads <paramref name="key"/> if it is a TLS parameter; false lets the caller handle (or warn about) it.</summary>
    public bool TryRead(string key, YamlNode keyNode, YamlNode value)
    {
        var field = prefix + key;
        var v = Value;
        switch (key)
        {
            case "min_tls_version":
                v = v with { MinTlsVersion = reader.String(value, field) };
                break;
            case "max_tls_version":
                v = v with { MaxTlsVersion = reader.String(value, field) };
                break;
            case "cipher_suites":
                v = v with { CipherSuites = reader.StringList(value, field) ?? [] };
                break;
            case "ecdh_curves":
                v = v with { EcdhCurves = reader.StringList(value, field) ?? [] };
                break;
            case "alpn_protocols":
                v = v with { AlpnProtocols = reader.CommaList(value, field) ?? [] };
                break;
            case "ca_secret":
                v = v with { CaSecret = reader.String(value, field) };
                break;
            case "cert_required":
                v = v with { CertRequired = reader.Boolean(value, field) };
                break;
            case "sni":
                v = v with { Sni = reader.String(value, field) };
                break;
            case "cert_chain_file" or "private_key_file" or "cacert_chain_file":
                // The gateway runs on many machines and in Orleans grains: certificates travel as Secrets, not files.
                if (!YamlValues.IsNull(value))
                {
                    reader.Error(DiagnosticCodes.FieldUnsupported, value, field,
                        "file paths are not supported; put the certificate in a Secret and use `secret:`" +
                        (key == "cacert_chain_file" ? " (for a CA, `ca_secret:`)" : ""));
                }

                break;
            case "crl_secret" or "v3CRLSecret":
                // Dropping a revocation list silently would accept revoked certificates the user meant to refuse.
                reader.Note(Severity.Warning, DiagnosticCodes.FieldUnsupported, value, field,
                    "certificate revocation lists are not supported by OrleansGateway; ignored (revoked client certificates are NOT refused)");
                break;
            case "redirect_cleartext_from":
                // HTTP-only (redirects cleartext HTTP to HTTPS); no effect on TCP.
                break;
            default:
                return false;
        }

        Value = v;
        Any = true;
        return true;
    }
}
