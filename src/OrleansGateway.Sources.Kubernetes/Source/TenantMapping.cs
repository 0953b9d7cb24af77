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

/// <summary>Which tenant every watched resource belongs to (docs/kubernetes.md, "Tenants").</summary>
/// <param name="Held">Resources of a namespace not seen yet: neither applied nor withdrawn until it is.</param>
internal sealed record TenantMap(ImmutableDictionary<string, TenantContent> Tenants, ImmutableArray<Refusal> Refused, int Held);

/// <summary>
/// Namespaces to tenants: a namespace labelled <c>orleansgateway.io/tenant: T</c> belongs to tenant T, every other
/// namespace to the default tenant. A label that is not a tenant name refuses the namespace's resources. Secrets go to a
/// tenant only when they are in one of its namespaces and one of its resources names them (by <c>name</c> or
/// <c>name.namespace</c>): a tenant never receives another tenant's Secrets, nor Secrets nothing asks for.
/// </summary>
internal sealed class TenantMapping(KubernetesOptions options)
{
    private Dictionary<string, Resource> _parsed = new(StringComparer.Ordinal);

    public TenantMap Build(ImmutableArray<KubeObject> namespaces, IEnumerable<(WatchedKind Kind, KubeObject Object)> objects, ImmutableArray<KubeObject> secrets)
    {
        var tenantOf = new Dictionary<string, (string? Tenant, bool Labelled, string? Problem)>(StringComparer.Ordinal);
        foreach (var ns in namespaces)
        {
            tenantOf[ns.Name] = TenantOf(ns);
        }

        var parsed = new Dictionary<string, Resource>(StringComparer.Ordinal);
        var byTenant = new Dictionary<string, (bool Labelled, List<KubeResource> Resources)>(StringComparer.Ordinal);
        var refused = ImmutableArray.CreateBuilder<Refusal>();
        var held = 0;
        foreach (var (kind, item) in objects)
        {
            if (!options.Watches(item.Namespace))
            {
                continue;
            }

            if (!tenantOf.TryGetValue(item.Namespace, out var owner))
            {
                held++;
                continue;
            }

            if (!ResourceNames.IsDnsSubdomain(item.Name))
            {
                // A real API server never holds one; a resource that names it could not be pointed at in a log line,
                // a status patch or an Event. It is refused without being parsed.
                refused.Add(new Refusal(new KubeResource(kind, item, Unnamed(kind, item)), $"metadata.name {LogText.Quote(item.Name)} is not a Kubernetes object " +
                    "name (lowercase letters, digits, '-' and '.', at most 253 characters); rename the resource"));
                continue;
            }

            var resource = new KubeResource(kind, item, Parse(kind, item, parsed));
            if (owner.Problem is not null)
            {
                refused.Add(new Refusal(resource, owner.Problem));
                continue;
            }

            if (!byTenant.TryGetValue(owner.Tenant!, out var tenant))
            {
                byTenant[owner.Tenant!] = tenant = (owner.Labelled, []);
            }

            tenant.Resources.Add(resource);
        }

        var secretsByNamespace = secrets.Where(s => options.Watches(s.Namespace) && ResourceNames.IsDnsSubdomain(s.Name)).ToLookup(s => s.Namespace, StringComparer.Ordinal);
        var namespacesOf = tenantOf.Where(p => p.Value.Tenant is not null).ToLookup(p => p.Value.Tenant!, p => p.Key, StringComparer.Ordinal);
        var tenants = ImmutableDictionary.CreateBuilder<string, TenantContent>(StringComparer.Ordinal);
        foreach (var (tenant, (labelled, resources)) in byTenant)
        {
            var named = NamedSecrets(resources.Select(r => r.Resource));
            var owned = resources.Select(r => r.Object.Namespace).ToImmutableSortedSet(StringComparer.Ordinal);
            // Only the Secrets of the tenant's own namespaces: a name.namespace reference to another tenant's namespace finds nothing.
            var tenantSecrets = namespacesOf[tenant].SelectMany(ns => secretsByNamespace[ns])
                .Where(s => named.Contains(s.Name) || named.Contains(s.Name + "." + s.Namespace))
                .Select(s => (Object: s, Resource: Parse(WatchedKind.Secrets, s, parsed)))
                .ToList();
            tenants[tenant] = new TenantContent(
                tenant,
                labelled,
                [.. resources.OrderBy(r => r.Kind.Resource, StringComparer.Ordinal).ThenBy(r => r.Object.Namespace, StringComparer.Ordinal).ThenBy(r => r.Object.Name, StringComparer.Ordinal)],
                [.. tenantSecrets.OrderBy(s => s.Object.Namespace, StringComparer.Ordinal).ThenBy(s => s.Object.Name, StringComparer.Ordinal).Select(s => s.Resource)],
                owned,
                Fingerprint(resources.Select(r => r.Object).Concat(tenantSecrets.Select(s => s.Object))));
        }

        // Parsing is the costly part; only what is still watched is remembered for the next pass.
        _parsed = parsed;
        return new TenantMap(tenants.ToImmutable(), refused.ToImmutable(), held);
    }

    private (string? Tenant, bool Labelled, string? Problem) TenantOf(KubeObject ns)
    {
        if (!ns.Labels.TryGetValue(KubernetesOptions.TenantLabel, out var label) || label == options.DefaultTenant)
        {
            return (options.DefaultTenant, false, null);
        }

        return ResourceNames.IsDnsLabel(label)
            ? (label, true, null)
            : (null, true, $"the label {KubernetesOptions.TenantLabel} of namespace {ns.Name} is '{label}', which is not a tenant name " +
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
    private Resource Parse(WatchedKind kind, KubeObject item, Dictionary<string, Resource> parsed)
    {
        var key = kind.Resource + "\n" + item.Fingerprint;
        if (parsed.TryGetValue(key, out var known) || _parsed.TryGetValue(key, out known))
        {
            parsed[key] = known;
            return known;
        }

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
        var resource = load.Resources.FirstOrDefault() ?? new InvalidResource
        {
            OriginalKind = kind.Kind,
            Name = item.Name,
            Namespace = item.Namespace,
            Errors = load.Diagnostics,
        };
        parsed[key] = resource;
        return resource;
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
}
