using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains;

/// <summary>The compiled form of a tenant's whole resource set, with its quota applied.</summary>
/// <param name="Statuses">One per resource, sorted by kind, namespace, name.</param>
/// <param name="RefusedGroups">The compiler's <see cref="CompileResult.RefusedGroups"/>.</param>
internal sealed record TenantCompilation(
    GatewayPlan Plan,
    ImmutableArray<ResourceStatus> Statuses,
    ImmutableArray<Diagnostic> Diagnostics,
    ImmutableArray<RefusedGroup> RefusedGroups)
{
    public bool HasDiscarded => Statuses.Any(s => s.State == ResourceState.Discarded);

    /// <summary>
    /// Compiles <paramref name="resources"/> in the tenant's scope (its own Hosts, TLSContexts and Secrets only) and
    /// enforces <paramref name="quota"/>: a resource over a limit is Discarded with a message naming the limit and
    /// is left out of the compile, so the rest compiles as if it did not exist.
    /// </summary>
    /// <param name="secretsExternal">A certificate source (Key Vault) is configured: a secret without a Secret resource is not an error.</param>
    public static TenantCompilation Compile(string tenant, IReadOnlyList<Resource> resources, TenantQuota quota, ControlPlaneOptions options, bool secretsExternal = false)
    {
        var excluded = new Dictionary<ResourceRef, Diagnostic>();
        ExcludePorts(tenant, resources, quota, excluded);
        ExcludeByKind(tenant, resources, quota, excluded);

        var compileOptions = new CompileOptions(options.BindAddress, options.AmbassadorNamespace, tenant, secretsExternal);
        var result = Run(resources, excluded, options.AmbassadorId, compileOptions);
        if (quota.MaxListeners is { } max && result.Plan.Listeners.Length > max)
        {
            // Listeners are in (address, port) order: the first ones stay, the mappings of the others are left out.
            foreach (var listener in result.Plan.Listeners.Skip(max))
            {
                foreach (var mapping in listener.Resources.Where(r => r.Kind == "TCPMapping"))
                {
                    excluded.TryAdd(mapping, Quota(mapping, DiagnosticCodes.QuotaListeners,
                        $"listener {listener.Endpoint} would be listener number {result.Plan.Listeners.IndexOf(listener) + 1} of tenant '{tenant}', " +
                        $"which may have {max} (quota MaxListeners). Move the mapping to a port the tenant already uses, or ask the operator to raise the quota."));
                }
            }

            result = Run(resources, excluded, options.AmbassadorId, compileOptions);
        }

        var statuses = result.Statuses.Concat(excluded.Values.Select(d =>
                new ResourceStatus(d.Resource!, ResourceState.Discarded, [d.Message], d.Source)))
            .OrderBy(s => s.Resource.Kind, StringComparer.Ordinal)
            .ThenBy(s => s.Resource.Namespace, StringComparer.Ordinal)
            .ThenBy(s => s.Resource.Name, StringComparer.Ordinal);
        return new TenantCompilation(result.Plan, [.. statuses], [.. result.Diagnostics, .. excluded.Values], result.RefusedGroups);
    }

    private static CompileResult Run(IReadOnlyList<Resource> resources, Dictionary<ResourceRef, Diagnostic> excluded, string ambassadorId, CompileOptions options) =>
        GatewayCompiler.Compile(new CompileInput([.. resources.Where(r => !excluded.ContainsKey(r.Ref))], ambassadorId, options));

    private static void ExcludePorts(string tenant, IReadOnlyList<Resource> resources, TenantQuota quota, Dictionary<ResourceRef, Diagnostic> excluded)
    {
        if (quota.AllowedPorts is not { } ranges)
        {
            return;
        }

        foreach (var resource in resources)
        {
            var port = resource switch
            {
                TcpMapping m => m.Port,
                ListenerResource l => l.Port,
                _ => (int?)null,
            };
            if (port is { } p && !ranges.Any(r => r.Contains(p)))
            {
                var allowed = ranges.IsEmpty ? "none" : string.Join(", ", ranges);
                excluded.TryAdd(resource.Ref, Quota(resource.Ref, DiagnosticCodes.QuotaPorts,
                    $"port {p} is not one of the ports tenant '{tenant}' may use ({allowed}; quota AllowedPorts). Use one of those ports, " +
                    "or ask the operator to allow this one.", resource.Source));
            }
        }
    }

    /// <summary>The per-kind limits of a quota: the kind, its limit, the quota field that names it, its code.</summary>
    private static IEnumerable<(string Kind, int? Max, string Field, string Code)> KindLimits(TenantQuota quota) =>
    [
        ("TCPMapping", quota.MaxMappings, "MaxMappings", DiagnosticCodes.QuotaMappings),
        ("Listener", quota.MaxListenerResources, "MaxListenerResources", DiagnosticCodes.QuotaKind),
        ("Host", quota.MaxHosts, "MaxHosts", DiagnosticCodes.QuotaKind),
        ("TLSContext", quota.MaxTlsContexts, "MaxTlsContexts", DiagnosticCodes.QuotaKind),
        ("Secret", quota.MaxSecrets, "MaxSecrets", DiagnosticCodes.QuotaKind),
        ("Module", quota.MaxModules, "MaxModules", DiagnosticCodes.QuotaKind),
    ];

    /// <summary>
    /// Past a kind's limit, the resources of that kind after the first ones by (namespace, name) are Discarded: which
    /// ones are kept never depends on the order of applies, so a config directory converges.
    /// </summary>
    private static void ExcludeByKind(string tenant, IReadOnlyList<Resource> resources, TenantQuota quota, Dictionary<ResourceRef, Diagnostic> excluded)
    {
        foreach (var (kind, limit, field, code) in KindLimits(quota))
        {
            if (limit is not { } max)
            {
                continue;
            }

            var ofKind = resources.Where(r => r.Kind == kind)
                .OrderBy(r => r.Namespace, StringComparer.Ordinal)
                .ThenBy(r => r.Name, StringComparer.Ordinal)
                .ToList();
            for (var i = max; i < ofKind.Count; i++)
            {
                excluded.TryAdd(ofKind[i].Ref, Quota(ofKind[i].Ref, code,
                    $"tenant '{tenant}' may have {max} {kind}s (quota {field}) and has {ofKind.Count}; the first {max} by (namespace, name) " +
                    $"are kept. Delete a {kind}, or ask the operator to raise the quota.", ofKind[i].Source));
            }
        }
    }

    private static Diagnostic Quota(ResourceRef resource, string code, string message, SourceLocation? source = null) =>
        new(Severity.Error, code, $"{resource} discarded: {message}", resource, source);
}
