using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Resources;
using OrleansGateway.Sources.Kubernetes.Watching;

namespace OrleansGateway.Sources.Kubernetes.Source;

/// <summary>One watched object of Emissary's kinds and the resource the loader reads from it.</summary>
internal sealed record KubeResource(WatchedKind Kind, KubeObject Object, Resource Resource);

/// <summary>Everything the Kubernetes source gives one tenant: what <see cref="TenantSource.ApplyAsync"/> receives.</summary>
/// <param name="Labelled">Named by a namespace label (an API tenant that must exist), not the default tenant.</param>
/// <param name="Secrets">The Secrets of the tenant's namespaces that its resources name.</param>
/// <param name="Namespaces">The namespaces whose resources it holds.</param>
internal sealed record TenantContent(
    string Tenant,
    bool Labelled,
    ImmutableArray<KubeResource> Resources,
    ImmutableArray<Resource> Secrets,
    ImmutableSortedSet<string> Namespaces,
    string Fingerprint)
{
    public ImmutableArray<Resource> All => [.. Resources.Select(r => r.Resource), .. Secrets];
}

/// <summary>A resource the source does not apply, and why (its status says so).</summary>
internal sealed record Refusal(KubeResource Resource, string Reason);

/// <summary>
/// Namespaces to tenants, kept up to date one namespace at a time (docs/kubernetes.md, "Tenants"): a namespace
/// labelled <c>orleansgateway.io/tenant: T</c> belongs to tenant T, every other namespace to the default tenant. A
/// label that is not a tenant name refuses the namespace's resources. Secrets go to a tenant only when they are in one
/// of its namespaces and one of its resources names them (by <c>name</c> or <c>name.namespace</c>): a tenant never
/// receives another tenant's Secrets, nor Secrets nothing asks for.
/// </summary>
/// <remarks>
/// A change is read again only where it happened: <see cref="Update"/> re-reads one namespace (its label and its
/// objects) and answers the tenants that namespace belonged to before and after; <see cref="Content"/> assembles one
/// tenant from its namespaces as last read. Nothing here looks at another namespace or tenant, so what an event costs
/// does not grow with the number of tenants, and no object of one namespace can make another tenant be read again.
/// Not thread-safe: the source's loop uses it.
/// </remarks>
internal sealed class TenantMapping(KubernetesOptions options)
{
    private readonly Dictionary<string, Namespace> _namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _namespacesOf = new(StringComparer.Ordinal);

    /// <summary>The parsed Secrets of each namespace by name (with the fingerprint they were parsed from): parsing is the costly part.</summary>
    private readonly Dictionary<string, Dictionary<string, Parsed>> _secrets = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="tenant"/> is named by a namespace label (an API tenant that must exist), not the default tenant.</summary>
    public bool IsLabelled(string tenant) => tenant != options.DefaultTenant;

    /// <summary>Every tenant that some watched namespace gives a resource.</summary>
    public IEnumerable<string> TenantsWithResources => _namespacesOf.Where(p => p.Value.Any(ns => !_namespaces[ns].Resources.IsEmpty)).Select(p => p.Key);

    /// <summary>The resources of the namespace refused whatever its tenant (a bad name, a bad label).</summary>
    public ImmutableArray<Refusal> Refused(string ns) => _namespaces.TryGetValue(ns, out var read) ? read.Refused : [];

    /// <summary>The namespaces that refuse resources.</summary>
    public IEnumerable<string> Refusing => _namespaces.Where(p => !p.Value.Refused.IsEmpty).Select(p => p.Key);

    /// <summary>How many resources were read (applied or refused), for the log.</summary>
    public int Count => _namespaces.Values.Sum(n => n.Resources.Length + n.Refused.Length);

    /// <summary>
    /// Reads namespace <paramref name="ns"/> again: its Namespace object (<paramref name="namespaceObject"/>; null while
    /// the cluster has none, when its resources are neither applied nor withdrawn) and the objects of Emissary's kinds in
    /// it. Answers the tenants it belonged to before and belongs to now.
    /// </summary>
    public IEnumerable<string> Update(string ns, KubeObject? namespaceObject, IEnumerable<(WatchedKind Kind, KubeObject Object)> objects)
    {
        var before = _namespaces.GetValueOrDefault(ns);
        var owner = namespaceObject is null ? new Owner(null, null) : TenantOf(namespaceObject);
        var parsed = new Dictionary<(string, string), Parsed>();
        var resources = ImmutableArray.CreateBuilder<KubeResource>();
        var refused = ImmutableArray.CreateBuilder<Refusal>();
        foreach (var (kind, item) in namespaceObject is null || !options.Watches(ns) ? Enumerable.Empty<(WatchedKind, KubeObject)>() : objects)
        {
            if (!ResourceNames.IsDnsSubdomain(item.Name))
            {
                // A real API server never holds one; a resource that names it could not be pointed at in a log line,
                // a status patch or an Event. It is refused without being parsed.
                refused.Add(new Refusal(new KubeResource(kind, item, Unnamed(kind, item)), $"metadata.name {LogText.Quote(item.Name)} is not a Kubernetes object " +
                    "name (lowercase letters, digits, '-' and '.', at most 253 characters); rename the resource"));
                continue;
            }

            var key = (kind.Resource, item.Name);
            var resource = before?.Known.GetValueOrDefault(key) is { } known && known.Fingerprint == item.Fingerprint ? known.Resource : Parse(kind, item);
            parsed[key] = new Parsed(item.Fingerprint, resource);
            var read = new KubeResource(kind, item, resource);
            if (owner.Problem is not null)
            {
                refused.Add(new Refusal(read, owner.Problem));
            }
            else
            {
                resources.Add(read);
            }
        }

        var now = new Namespace(owner, resources.ToImmutable(), refused.ToImmutable(), parsed);
        if (namespaceObject is null && now.Resources.IsEmpty && now.Refused.IsEmpty)
        {
            _namespaces.Remove(ns);
        }
        else
        {
            _namespaces[ns] = now;
        }

        if (before?.Owner.Tenant is { } old && old != owner.Tenant)
        {
            Index(old, ns, add: false);
        }

        if (owner.Tenant is { } tenant && options.Watches(ns))
        {
            Index(tenant, ns, add: true);
        }

        return new[] { before?.Owner.Tenant, owner.Tenant }.OfType<string>().Distinct(StringComparer.Ordinal);
    }

    /// <summary>
    /// Everything the source gives <paramref name="tenant"/> now, from its namespaces as last read and the Secrets
    /// <paramref name="secretsIn"/> finds in them; null when it has no resource.
    /// </summary>
    public TenantContent? Content(string tenant, Func<string, IEnumerable<KubeObject>> secretsIn)
    {
        if (!_namespacesOf.TryGetValue(tenant, out var namespaces))
        {
            return null;
        }

        var resources = namespaces.SelectMany(ns => _namespaces[ns].Resources).ToList();
        if (resources.Count == 0)
        {
            return null;
        }

        var named = NamedSecrets(resources.Select(r => r.Resource));
        var tenantSecrets = new List<(KubeObject Object, Resource Resource)>();
        foreach (var ns in namespaces)
        {
            // Only the Secrets of the tenant's own namespaces: a name.namespace reference to another tenant's namespace finds nothing.
            var known = _secrets.GetValueOrDefault(ns) ?? [];
            var kept = new Dictionary<string, Parsed>(StringComparer.Ordinal);
            foreach (var secret in secretsIn(ns).Where(s => ResourceNames.IsDnsSubdomain(s.Name) && (named.Contains(s.Name) || named.Contains(s.Name + "." + s.Namespace))))
            {
                var resource = known.GetValueOrDefault(secret.Name) is { } parsed && parsed.Fingerprint == secret.Fingerprint ? parsed.Resource : Parse(WatchedKind.Secrets, secret);
                kept[secret.Name] = new Parsed(secret.Fingerprint, resource);
                tenantSecrets.Add((secret, resource));
            }

            _secrets[ns] = kept;
        }

        return new TenantContent(
            tenant,
            IsLabelled(tenant),
            [.. resources.OrderBy(r => r.Kind.Resource, StringComparer.Ordinal).ThenBy(r => r.Object.Namespace, StringComparer.Ordinal).ThenBy(r => r.Object.Name, StringComparer.Ordinal)],
            [.. tenantSecrets.OrderBy(s => s.Object.Namespace, StringComparer.Ordinal).ThenBy(s => s.Object.Name, StringComparer.Ordinal).Select(s => s.Resource)],
            resources.Select(r => r.Object.Namespace).ToImmutableSortedSet(StringComparer.Ordinal),
            Fingerprint(resources.Select(r => r.Object).Concat(tenantSecrets.Select(s => s.Object))));
    }

    private void Index(string tenant, string ns, bool add)
    {
        if (add)
        {
            if (!_namespacesOf.TryGetValue(tenant, out var set))
            {
                _namespacesOf[tenant] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(ns);
            return;
        }

        if (_namespacesOf.TryGetValue(tenant, out var owned) && owned.Remove(ns) && owned.Count == 0)
        {
            _namespacesOf.Remove(tenant);
        }

        _secrets.Remove(ns);
    }

    private Owner TenantOf(KubeObject ns)
    {
        if (!ns.Labels.TryGetValue(KubernetesOptions.TenantLabel, out var label) || label == options.DefaultTenant)
        {
            return new Owner(options.DefaultTenant, null);
        }

        return ResourceNames.IsDnsLabel(label)
            ? new Owner(label, null)
            : new Owner(null, $"the label {KubernetesOptions.TenantLabel} of namespace {ns.Name} is '{label}', which is not a tenant name " +
                "(lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit); fix the label");
    }

    private static Resource Unnamed(WatchedKind kind, KubeObject item) => new InvalidResource
    {
        OriginalKind = kind.Kind,
        Name = LogText.Quote(item.Name),
        Namespace = item.Namespace,
        Errors = [],
    };

    /// <summary>Every Secret name the resources write (<c>name</c> or <c>name.namespace</c>).</summary>
    private static HashSet<string> NamedSecrets(IEnumerable<Resource> resources)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var resource in resources)
        {
            IEnumerable<string?> named = resource switch
            {
                TlsContextResource c => [c.Secret, c.Tls.CaSecret],
                HostResource h => [h.TlsSecretName, h.Tls?.CaSecret],
                _ => [],
            };
            names.UnionWith(named.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n!.Trim()));
        }

        return names;
    }

    /// <summary>The object as the loader reads a file: apiVersion, kind, metadata (name, namespace, labels, annotations) and its content.</summary>
    private static Resource Parse(WatchedKind kind, KubeObject item)
    {
        var document = new JsonObject
        {
            ["apiVersion"] = item.Json.TryGetProperty("apiVersion", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : kind.ApiVersion,
            ["kind"] = kind.Kind,
        };
        if (JsonNode.Parse(item.Json.GetRawText()) is JsonObject source)
        {
            if (source["metadata"] is JsonObject metadata)
            {
                document["metadata"] = new JsonObject
                {
                    ["name"] = metadata["name"]?.DeepClone(),
                    ["namespace"] = metadata["namespace"]?.DeepClone(),
                    ["labels"] = metadata["labels"]?.DeepClone(),
                    ["annotations"] = metadata["annotations"]?.DeepClone(),
                };
            }

            foreach (var field in new[] { "spec", "type", "data", "stringData" })
            {
                if (source[field] is { } value)
                {
                    document[field] = value.DeepClone();
                }
            }
        }

        var load = ResourceLoader.Parse(document.ToJsonString(), $"kubernetes {kind.Resource}/{item.Namespace}/{item.Name}");
        return load.Resources.FirstOrDefault() ?? new InvalidResource
        {
            OriginalKind = kind.Kind,
            Name = item.Name,
            Namespace = item.Namespace,
            Errors = load.Diagnostics,
        };
    }

    private static string Fingerprint(IEnumerable<KubeObject> objects)
    {
        var text = new StringBuilder();
        foreach (var fingerprint in objects.Select(o => o.Fingerprint).Order(StringComparer.Ordinal))
        {
            text.Append(fingerprint).Append('\n');
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Whose a namespace is: its tenant, or why its resources are refused (a label that is no tenant name); neither while the namespace is unknown.</summary>
    private sealed record Owner(string? Tenant, string? Problem);

    private sealed record Parsed(string Fingerprint, Resource Resource);

    /// <summary>One namespace as last read: its owner, the resources it gives that owner, those it refuses, and what was parsed.</summary>
    private sealed record Namespace(Owner Owner, ImmutableArray<KubeResource> Resources, ImmutableArray<Refusal> Refused, Dictionary<(string, string), Parsed> Known);
}
