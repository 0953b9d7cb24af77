using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Resolvers by name (docs/tcpmapping-semantics.md, "Resolvers"): the user's resolver resources, plus Emissary's built-ins
/// <c>kubernetes-service</c>, <c>kubernetes-endpoint</c> (alias <c>endpoint</c>) and <c>consul</c> (alias
/// <c>consul-endpoint</c>, datacenter <c>dc1</c>) wherever the user defines none of that name.
/// </summary>
internal sealed class ResolverCatalog
{
    public const string DefaultName = "kubernetes-service";
    private const string DefaultDatacenter = "dc1";

    private readonly Dictionary<string, (ResolverPlan Plan, ResourceRef? Source)> _byName = new(StringComparer.Ordinal);

    public static ResolverCatalog Build(IEnumerable<ResourceEntry> resolvers)
    {
        var catalog = new ResolverCatalog();
        // Three kinds share one name space, so "first" is by (namespace, name) across kinds, then kind.
        var ordered = resolvers.OrderBy(e => e.Resource, Comparer<Resource>.Create(ResourceOrder.ByNamespaceAndName))
            .ThenBy(e => e.Resource.Kind, StringComparer.Ordinal).ToList();
        foreach (var entry in ordered)
        {
            var r = (ResolverResource)entry.Resource;
            if (catalog._byName.TryGetValue(r.Name, out var kept))
            {
                // Emissary's resolver names are global; the first by namespace keeps the name.
                entry.Discard(DiagnosticCodes.ResolverDuplicate, $"resolver names are global and {kept.Source} already uses the name '{r.Name}'. Rename one of them.",
                    related: kept.Source);
                continue;
            }

            var dc = r.ResolverKind == ResolverKind.Consul ? (string.IsNullOrWhiteSpace(r.Datacenter) ? DefaultDatacenter : r.Datacenter) : null;
            catalog._byName[r.Name] = (new ResolverPlan(r.Name, r.ResolverKind, dc, r.Address), r.Ref);
        }

        catalog.AddBuiltIn(new ResolverPlan(DefaultName, ResolverKind.KubernetesService), DefaultName);
        catalog.AddBuiltIn(new ResolverPlan("kubernetes-endpoint", ResolverKind.KubernetesEndpoint), "kubernetes-endpoint", "endpoint");
        catalog.AddBuiltIn(new ResolverPlan("consul", ResolverKind.Consul, DefaultDatacenter), "consul", "consul-endpoint");
        return catalog;
    }

    /// <summary>The resolver named <paramref name="name"/> and the resource that defines it (null for a built-in).</summary>
    public bool TryGet(string name, out ResolverPlan plan, out ResourceRef? source)
    {
        if (_byName.TryGetValue(name, out var found))
        {
            (plan, source) = found;
            return true;
        }

        plan = ResolverPlan.KubernetesService;
        source = null;
        return false;
    }

    private void AddBuiltIn(ResolverPlan plan, params string[] names)
    {
        foreach (var name in names)
        {
            _byName.TryAdd(name, (plan, null));
        }
    }
}
