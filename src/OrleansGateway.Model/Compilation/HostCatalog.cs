using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>A Host that can terminate TLS: its certificate and TLS settings, resolved and checked.</summary>
/// <param name="Hostname">Lower-cased glob, <c>*</c> when the Host sets none.</param>
internal sealed record TlsHost(HostResource Resource, string Hostname, SecretRef Certificate, TlsSettings Settings, ValidTlsContext? Context)
{
    public ResourceRef Ref => Resource.Ref;
}

/// <summary>
/// Hosts with TLS, indexed so that finding the Hosts for a TCPMapping host costs O(length of the name), not
/// O(number of Hosts): exact names, leading-<c>*</c> globs by suffix, trailing-<c>*</c> globs by prefix, and <c>*</c>.
/// </summary>
internal sealed class HostCatalog
{
    private readonly List<TlsHost> _all = [];
    private readonly Dictionary<string, List<TlsHost>> _exact = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TlsHost>> _bySuffix = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TlsHost>> _byPrefix = new(StringComparer.Ordinal);
    private readonly List<TlsHost> _any = [];

    public static HostCatalog Build(IEnumerable<ResourceEntry> hosts, TlsContextCatalog contexts, SecretCatalog secrets)
    {
        var catalog = new HostCatalog();
        foreach (var entry in hosts)
        {
            var host = (HostResource)entry.Resource;
            var hostname = string.IsNullOrWhiteSpace(host.Hostname) ? "*" : host.Hostname.Trim().ToLowerInvariant();
            var hasSecret = !string.IsNullOrWhiteSpace(host.TlsSecretName);
            var hasContext = !string.IsNullOrWhiteSpace(host.TlsContextName);
            if (!hasSecret && !hasContext)
            {
                entry.Note("host.no_tls", $"has no tlsSecret or tlsContext, so it provides no certificate for TCPMappings (hostname '{hostname}').");
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

    /// <summary>Every Host whose hostname could overlap <paramref name="mappingHost"/> (Emissary's two-sided glob test).</summary>
    public IEnumerable<TlsHost> Matching(string mappingHost)
    {
        if (mappingHost.Contains('*'))
        {
            // Wildcard mapping hosts are few; the two-sided test needs the general comparison.
            return _all.Where(h => HostGlob.Matches(h.Hostname, mappingHost));
        }

        var found = new List<TlsHost>(_any);
        if (_exact.TryGetValue(mappingHost, out var exact))
        {
            found.AddRange(exact);
        }

        // A glob's '*' matches a non-empty string, so the glob's fixed part is a proper suffix or prefix.
        // Span lookups: no substring is allocated per probe.
        var bySuffix = _bySuffix.GetAlternateLookup<ReadOnlySpan<char>>();
        var byPrefix = _byPrefix.GetAlternateLookup<ReadOnlySpan<char>>();
        var name = mappingHost.AsSpan();
        for (var i = 1; i < name.Length; i++)
        {
            if (bySuffix.TryGetValue(name[i..], out var suffixed))
            {
                found.AddRange(suffixed);
            }

            if (byPrefix.TryGetValue(name[..i], out var prefixed))
            {
                found.AddRange(prefixed);
            }
        }

        return found;
    }

    /// <summary>
    /// Most specific first for <paramref name="mappingHost"/>: a Host whose hostname IS the mapping host, then exact
    /// names, then globs by descending length, then <c>*</c>; ties by (namespace, name). The first rank matters for a
    /// wildcard mapping host: Host <c>*.example.com</c> beats Host <c>db.example.com</c> for <c>host: *.example.com</c>.
    /// </summary>
    public static int CompareSpecificity(TlsHost a, TlsHost b, string mappingHost)
    {
        var c = Rank(a.Hostname).CompareTo(Rank(b.Hostname));
        if (c != 0)
        {
            return c;
        }

        c = b.Hostname.Length.CompareTo(a.Hostname.Length);
        return c != 0 ? c : ResourceOrder.ByNamespaceAndName(a.Resource, b.Resource);

        int Rank(string h) => h == mappingHost ? 0 : h == "*" ? 3 : h.Contains('*') ? 2 : 1;
    }

    private static TlsHost? Validate(ResourceEntry entry, HostResource host, string hostname, TlsContextCatalog contexts, SecretCatalog secrets)
    {
        ValidTlsContext? context = null;
        if (host.TlsContextName is { Length: > 0 } ctxName)
        {
            context = contexts.FindByName(ctxName.Trim(), host.Namespace);
            if (context is null)
            {
                var discarded = contexts.FindDiscarded(ctxName.Trim(), host.Namespace);
                entry.Discard("host.tlscontext", discarded is null
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
                entry.Discard("host.secret", problem + ". Create that Secret (type kubernetes.io/tls) or fix spec.tlsSecret.", "spec.tlsSecret.name");
                return null;
            }
        }
        else
        {
            certificate = context!.Certificate;
            if (certificate is null)
            {
                entry.Discard("host.secret", $"its tlsContext {context.Ref} has no secret and the Host has no tlsSecret, so there is no certificate. " +
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
                entry.Discard("host.tls", error!, field);
                return null;
            }
        }

        settings ??= new TlsSettings(null, null, [], [], null, false, null);
        return new TlsHost(host, hostname, certificate, settings, context);
    }

    private void Add(TlsHost host)
    {
        _all.Add(host);
        var h = host.Hostname;
        if (h == "*")
        {
            _any.Add(host);
        }
        else if (h[0] == '*' && h[^1] != '*')
        {
            Index(_bySuffix, h[1..], host);
        }
        else if (h[^1] == '*' && h[0] != '*')
        {
            Index(_byPrefix, h[..^1], host);
        }
        else
        {
            // Names without '*' and malformed globs ('*' at both ends) only ever match themselves.
            Index(_exact, h, host);
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
