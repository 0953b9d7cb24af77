using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>A TLSContext that passed validation.</summary>
/// <param name="Certificate">Its <c>secret</c>, checked; null when it has none (it can still originate TLS, row 9 of
/// docs/tcpmapping-semantics.md).</param>
internal sealed record ValidTlsContext(TlsContextResource Resource, SecretRef? Certificate, TlsSettings Settings)
{
    public ResourceRef Ref => Resource.Ref;
}

/// <summary>
/// Valid TLSContexts, found by name (for <c>tls:</c> and Host <c>tlsContext</c>) and by exact <c>hosts</c> entry
/// (for TLS termination: a glob in <c>hosts</c> is compared as a pattern, equal canonical text, never expanded).
/// </summary>
internal sealed class TlsContextCatalog
{
    private readonly Dictionary<string, List<ValidTlsContext>> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<HostPattern, List<ValidTlsContext>> _byHost = [];
    private readonly Dictionary<(string Namespace, string Name), ResourceEntry> _discarded = [];

    public static TlsContextCatalog Build(IEnumerable<ResourceEntry> contexts, SecretCatalog secrets)
    {
        var catalog = new TlsContextCatalog();
        foreach (var entry in contexts)
        {
            var ctx = (TlsContextResource)entry.Resource;
            var namespacing = ctx.SecretNamespacing ?? true;
            var settings = TlsSettings.Read(ctx.Tls, ctx.Namespace, namespacing, secrets, "spec.", out var error, out var field);
            SecretRef? cert = null;
            if (settings is not null && ctx.Secret is { Length: > 0 } secretName)
            {
                cert = secrets.Resolve(secretName, ctx.Namespace, namespacing);
                error = secrets.CheckCertificate(cert);
                field = "spec.secret";
                if (error is not null)
                {
                    error += ". Create that Secret (type kubernetes.io/tls) or fix spec.secret.";
                }
            }

            var hosts = Hosts(entry, ctx);
            if (settings is null || error is not null)
            {
                entry.Discard(DiagnosticCodes.TlsContextInvalid, error!, field);
            }

            if (!entry.IsAccepted)
            {
                catalog._discarded.TryAdd((ctx.Namespace, ctx.Name), entry);
                continue;
            }

            var valid = new ValidTlsContext(ctx, cert, settings!);
            Add(catalog._byName, ctx.Name, valid);
            foreach (var host in hosts)
            {
                Add(catalog._byHost, host, valid);
            }
        }

        return catalog;
    }

    /// <summary>The canonical <c>hosts</c>; each entry that is no host pattern discards the TLSContext, naming the entry.</summary>
    private static List<HostPattern> Hosts(ResourceEntry entry, TlsContextResource ctx)
    {
        var hosts = new List<HostPattern>();
        var written = ctx.Hosts.IsDefault ? [] : ctx.Hosts;
        for (var i = 0; i < written.Length; i++)
        {
            if (HostPattern.TryParse(written[i], out var host, out var error))
            {
                hosts.Add(host);
            }
            else
            {
                entry.Discard(DiagnosticCodes.TlsContextHosts, "hosts entry " + error, $"spec.hosts[{i}]");
            }
        }

        return hosts;
    }

    /// <summary>
    /// <c>tls: name</c>: the TLSContext named exactly <paramref name="name"/> in any namespace (first by namespace,
    /// the order contexts were added in); else, for <c>x.ns</c>, the TLSContext <c>x</c> in namespace <c>ns</c>.
    /// <paramref name="preferNamespace"/> (a Host's own namespace) is tried first when given.
    /// </summary>
    public ValidTlsContext? FindByName(string name, string? preferNamespace = null)
    {
        if (_byName.TryGetValue(name, out var list))
        {
            return list.FirstOrDefault(c => c.Resource.Namespace == preferNamespace) ?? list[0];
        }

        var dot = name.LastIndexOf('.');
        if (dot > 0 && _byName.TryGetValue(name[..dot], out var inNs))
        {
            return inNs.FirstOrDefault(c => c.Resource.Namespace == name[(dot + 1)..]);
        }

        return null;
    }

    /// <summary>A discarded TLSContext that <paramref name="name"/> would have named, to explain a failed lookup.</summary>
    public ResourceRef? FindDiscarded(string name, string? preferNamespace = null)
    {
        var match = _discarded.Where(kv => kv.Key.Name == name).OrderBy(kv => kv.Key.Namespace == preferNamespace ? 0 : 1)
            .ThenBy(kv => kv.Key.Namespace, StringComparer.Ordinal).Select(kv => kv.Value.Ref).FirstOrDefault();
        var dot = name.LastIndexOf('.');
        if (match is null && dot > 0 && _discarded.TryGetValue((name[(dot + 1)..], name[..dot]), out var e))
        {
            match = e.Ref;
        }

        return match;
    }

    /// <summary>Valid TLSContexts whose <c>hosts</c> contains <paramref name="host"/> (canonical forms equal), first by (namespace, name).</summary>
    public IReadOnlyList<ValidTlsContext> FindByExactHost(HostPattern host) =>
        _byHost.TryGetValue(host, out var list) ? list : [];

    private static void Add<TKey>(Dictionary<TKey, List<ValidTlsContext>> index, TKey key, ValidTlsContext ctx)
        where TKey : notnull
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }

        // A context listing the same host twice is still one candidate.
        if (list.Count == 0 || !ReferenceEquals(list[^1], ctx))
        {
            list.Add(ctx);
        }
    }
}
