using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Upstream TLS settings (docs/tcpmapping-semantics.md, "TLS origination"): from the TLSContext named by <c>tls:</c>,
/// or defaults for plain <c>https://</c>.
/// </summary>
internal static class OriginationBuilder
{
    /// <summary>Builds the origination and adds the TLSContext and Secrets it uses to <paramref name="refs"/>.</summary>
    public static TlsOrigination Build(ValidTlsContext? context, ServiceAddress target, SecretCatalog secrets, List<ResourceRef> refs)
    {
        // Without TLSContext.sni the service host is sent when it is a DNS name; Emissary sends none
        // (docs/tcpmapping-semantics.md, row 10).
        var defaultSni = target.IsIpLiteral ? null : target.Host;
        if (context is null)
        {
            return new TlsOrigination(null, null, defaultSni, null, null, null, [], []);
        }

        refs.Add(context.Ref);
        foreach (var secret in new[] { context.Certificate, context.Settings.CaSecret })
        {
            if (secret is not null && secrets.RefOf(secret) is { } r)
            {
                refs.Add(r);
            }
        }

        var s = context.Settings;
        return new TlsOrigination(context.Ref, context.Certificate, s.Sni ?? defaultSni, s.CaSecret, s.MinVersion, s.MaxVersion, s.CipherSuites,
            s.AlpnProtocols);
    }
}
