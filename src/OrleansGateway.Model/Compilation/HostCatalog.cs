using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>A Host that can terminate TLS: its certificate and TLS settings, resolved and checked.</summary>
/// <param name="Hostname">Canonical; <c>*</c> when the Host sets none.</param>
internal sealed record TlsHost(HostResource Resource, HostPattern Hostname, SecretRef Certificate, TlsSettings Settings, ValidTlsContext? Context)
{
    public ResourceRef Ref => Resource.Ref;
}

/// <summary>
/// Hosts with TLS, indexed so that finding the Hosts for an exact TCPMapping host costs O(labels of the name) probes,
/// not O(number of Hosts): exact names, wildcards by the name after <c>*.</c>, and <c>*</c>.
/// </summary>
internal sealed class HostCatalog
{
    private readonly List<TlsHost> _all = [];
    private readonly Dictionary<string, List<TlsHost>> _exact = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TlsHost>> _wildcards = new(StringComparer.Ordinal);
    private readonly List<TlsHost> _any = [];

    public static HostCatalog Build(IEnumerable<ResourceEntry> hosts, TlsContextCatalog contexts, SecretCatalog secrets)
    {
        var catalog = new HostCatalog();
        foreach (var entry in hosts)
        {
            var host = (HostResource)entry.Resource;
            if (Hostname(host, out var error) is not { } hostname)
            {
                entry.Discard(DiagnosticCodes.HostHostname, "hostname " + error, "spec.hostname");
                continue;
            }

            var hasSecret = !string.IsNullOrWhiteSpace(host.TlsSecretName);
            var hasContext = !string.IsNullOrWhiteSpace(host.TlsContextName);
            if (!hasSecret && !hasContext)
            {
                entry.Note(DiagnosticCodes.HostNoTls, $"has no tlsSecret or tlsContext, so it provides no certificate for TCPMappings (hostname '{hostname}').");
                continue;
            }

            var tlsHost = Validate(entry, host, hostname, contexts, secrets);
            if (tlsHost is not null)
            {
                catalog.Add(tlsHost);
            }
        }

        return catalog;
    }

    /// <summary>A Host's <c>hostname</c>, canonical; unset or empty is <c>*</c>, as in Emissary. Null with the error when it is no host pattern.</summary>
    public static HostPattern? Hostname(HostResource host, out string? error)
    {
        error = null;
        return string.IsNullOrEmpty(host.Hostname) ? HostPattern.Any
            : HostPattern.TryParse(host.Hostname, out var pattern, out error) ? pattern : null;
    }

    /// <summary>Every Host whose hostname overlaps <paramref name="mappingHost"/> (some name matches both).</summary>
    public IEnumerable<TlsHost> Matching(HostPattern mappingHost)
    {
        if (mappingHost.Kind != HostPatternKind.Exact)
        {
            // Wildcard mapping hosts are few; the overlap test needs the general comparison.
            return _all.Where(h => h.Hostname.Overlaps(mappingHost));
        }

        var found = new List<TlsHost>(_any);
        if (_exact.TryGetValue(mappingHost.Text, out var exact))
        {
            found.AddRange(exact);
        }

        // "a.b.example.com" is matched by the wildcards of "b.example.com", "example.com" and "com". Span lookups: no
        // substring is allocated per probe.
        var wildcards = _wildcards.GetAlternateLookup<ReadOnlySpan<char>>();
        var name = mappingHost.Text.AsSpan();
        for (var dot = name.IndexOf('.'); dot >= 0; dot = name.IndexOf('.'))
        {
            name = name[(dot + 1)..];
            if (wildcards.TryGetValue(name, out var matching))
            {
                found.AddRange(matching);
            }
        }

        return found;
    }

    /// <summary>
    /// Most specific first for <paramref name="mappingHost"/>: a Host whose hostname IS the mapping host, then the SNI
    /// order (exact names, globs longest first, <c>*</c>); ties by (namespace, name). The first rank matters for a
    /// wildcard mapping host: Host <c>*.example.com</c> beats Host <c>db.example.com</c> for <c>host: *.example.com</c>.
    /// </summary>
    public static int CompareSpecificity(TlsHost a, TlsHost b, HostPattern mappingHost)
    {
        var c = (a.Hostname == mappingHost ? 0 : 1).CompareTo(b.Hostname == mappingHost ? 0 : 1);
        if (c != 0)
        {
            return c;
        }

        c = HostPattern.SniOrder.Compare(a.Hostname, b.Hostname);
        return c != 0 ? c : ResourceOrder.ByNamespaceAndName(a.Resource, b.Resource);
    }

    private static TlsHost? Validate(ResourceEntry entry, HostResource host, HostPattern hostname, TlsContextCatalog contexts, SecretCatalog secrets)
    {
        ValidTlsContext? context = null;
        if (host.TlsContextName is { Length: > 0 } ctxName)
        {
            context = contexts.FindByName(ctxName.Trim(), host.Namespace);
            if (context is null)
            {
                var discarded = contexts.FindDiscarded(ctxName.Trim(), host.Namespace);
                entry.Discard(DiagnosticCodes.HostTlsContext, discarded is null
                    ? $"tlsContext '{ctxName}' names no TLSContext. Create it, or remove spec.tlsContext."
                    : $"tlsContext '{ctxName}' is {discarded}, which is discarded (see its status). Fix it, or remove spec.tlsContext.",
                    "spec.tlsContext.name", discarded);
                return null;
            }
        }

        SecretRef? certificate;
        if (host.TlsSecretName is { Length: > 0 } secretName)
        {
            certificate = secrets.Resolve(secretName.Trim(), host.Namespace, true, host.TlsSecretNamespace);
            if (secrets.CheckCertificate(certificate) is { } problem)
            {
                entry.Discard(DiagnosticCodes.HostSecret, problem + ". Create that Secret (type kubernetes.io/tls) or fix spec.tlsSecret.", "spec.tlsSecret.name");
                return null;
            }
        }
        else
        {
            certificate = context!.Certificate;
            if (certificate is null)
            {
                entry.Discard(DiagnosticCodes.HostSecret, $"its tlsContext {context.Ref} has no secret and the Host has no tlsSecret, so there is no certificate. " +
                    "Add spec.tlsSecret, or a secret to the TLSContext.", "spec.tlsSecret", context.Ref);
                return null;
            }
        }

        var settings = context?.Settings;
        if (host.Tls is not null)
        {
            settings = TlsSettings.Read(host.Tls, host.Namespace, true, secrets, "spec.tls.", out var error, out var field);
            if (settings is null)
            {
                entry.Discard(DiagnosticCodes.HostTls, error!, field);
                return null;
            }
        }

        settings ??= new TlsSettings(null, null, [], [], null, false, null);
        return new TlsHost(host, hostname, certificate, settings, context);
    }

    private void Add(TlsHost host)
    {
        _all.Add(host);
        switch (host.Hostname.Kind)
        {
            case HostPatternKind.Any:
                _any.Add(host);
                break;
            case HostPatternKind.Wildcard:
                Index(_wildcards, host.Hostname.Domain, host);
                break;
            default:
                Index(_exact, host.Hostname.Text, host);
                break;
        }
    }

    private static void Index(Dictionary<string, List<TlsHost>> index, string key, TlsHost host)
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }

        list.Add(host);
    }
}
