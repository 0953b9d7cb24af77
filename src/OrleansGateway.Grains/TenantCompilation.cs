using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Compilation;
using System.Net;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Networks;
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
    /// enforces <paramref name="quota"/> and the gateway's own rules: a resource over a limit, on a port of the gateway,
    /// claiming a host name outside <c>AllowedHosts</c>, or pointing at an upstream outside <c>AllowedUpstreams</c> or at
    /// an address the gateway refuses (its own endpoints, link-local, cloud metadata) is Discarded with a message naming
    /// the rule and is left out of the compile, so the rest compiles as if it did not exist.
    /// </summary>
    /// <param name="cluster">The gateway's own addresses and control ports (silo, Orleans gateway, API) across the cluster.</param>
    /// <param name="listenerPorts">The ports of every listener of the installation (with this tenant's own, a loop).</param>
    /// <param name="secretsExternal">A certificate source (Key Vault) is configured: a secret without a Secret resource is not an error.</param>
    public static TenantCompilation Compile(
        string tenant,
        IReadOnlyList<Resource> resources,
        TenantQuota quota,
        ControlPlaneOptions options,
        ClusterEndpoints cluster,
        IReadOnlyCollection<int> listenerPorts,
        bool secretsExternal = false)
    {
        var excluded = new Dictionary<ResourceRef, Diagnostic>();
        ExcludeReservedPorts(resources, [.. cluster.Ports], excluded);
        ExcludePorts(tenant, resources, quota, excluded);
        ExcludeHosts(tenant, resources, quota, excluded);
        ExcludeByKind(tenant, resources, quota, excluded);

        var compileOptions = new CompileOptions(options.BindAddress, options.AmbassadorNamespace, tenant, secretsExternal);
        var result = Run(resources, excluded, options.AmbassadorId, compileOptions);

        // What only the compiled plan tells: each upstream's target as it will be resolved, and which listeners inspect TLS.
        var reserved = cluster.ToReserved(listenerPorts.Concat(result.Plan.Listeners.Select(l => l.Endpoint.Port)));
        var upstreams = UpstreamPolicy.FromStored(quota.AllowedUpstreams);
        var sources = resources.DistinctBy(r => r.Ref).ToDictionary(r => r.Ref, r => r.Source);
        if (ExcludeUpstreams(tenant, result.Plan, upstreams, options.Egress, reserved, sources, excluded)
            | ExcludeCatchAlls(tenant, result.Plan, quota, sources, excluded))
        {
            result = Run(resources, excluded, options.AmbassadorId, compileOptions);
        }

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

    /// <summary>A port of the gateway itself is reserved on every address: no tenant listens there, whatever its quota.</summary>
    private static void ExcludeReservedPorts(IReadOnlyList<Resource> resources, HashSet<int> controlPorts, Dictionary<ResourceRef, Diagnostic> excluded)
    {
        foreach (var resource in resources)
        {
            if (PortOf(resource) is { } p && controlPorts.Contains(p))
            {
                excluded.TryAdd(resource.Ref, Quota(resource.Ref, DiagnosticCodes.PortReserved,
                    $"port {p} is reserved for the gateway itself (a silo, Orleans gateway or management API port of the cluster) on every " +
                    "address. Use another port.", resource.Source));
            }
        }
    }

    /// <summary>Every SNI name the tenant claims must be covered by a glob of its quota's AllowedHosts.</summary>
    private static void ExcludeHosts(string tenant, IReadOnlyList<Resource> resources, TenantQuota quota, Dictionary<ResourceRef, Diagnostic> excluded)
    {
        if (quota.AllowedHosts is not { } entries)
        {
            return;
        }

        var allowed = entries.Select(e => HostPattern.TryParse(e, out var p, out _) ? p : null).OfType<HostPattern>().ToList();
        foreach (var resource in resources)
        {
            var claimed = resource switch
            {
                TcpMapping { Host: { } host } => [host],
                HostResource h => [h.Hostname ?? "*"],
                TlsContextResource t => t.Hosts,
                _ => ImmutableArray<string>.Empty,
            };

            // A name that is no host pattern is the compiler's error to report (it Discards the resource itself).
            var outside = claimed.Select(h => HostPattern.TryParse(h, out var p, out _) ? p : null)
                .OfType<HostPattern>()
                .FirstOrDefault(p => !allowed.Any(a => a.Covers(p)));
            if (outside is not null)
            {
                excluded.TryAdd(resource.Ref, Quota(resource.Ref, DiagnosticCodes.QuotaHosts,
                    $"host {outside} is not covered by the host names tenant '{tenant}' may claim ({List(entries)}; quota AllowedHosts). " +
                    "Use a name those cover, or ask the operator to allow this one.", resource.Source));
            }
        }
    }

    /// <summary>
    /// Each upstream of the plan: an IP literal must lie in an address range of the quota and must not be an address the
    /// gateway refuses; a name must match a host glob of the quota (its addresses are checked when connecting).
    /// </summary>
    private static bool ExcludeUpstreams(string tenant, GatewayPlan plan, UpstreamPolicy policy, GatewayEgress egress, ReservedEndpoints reserved,
        Dictionary<ResourceRef, SourceLocation?> sources, Dictionary<ResourceRef, Diagnostic> excluded)
    {
        var any = false;
        foreach (var upstream in plan.Listeners.SelectMany(Routes).SelectMany(r => r.Upstreams))
        {
            var target = upstream.Target;
            string? problem = null;
            var code = DiagnosticCodes.QuotaUpstreams;
            if (target.IsIpLiteral && IPAddress.TryParse(target.Host, out var address))
            {
                if (egress.Refusal(new IPEndPoint(address, target.Port), reserved) is { } why)
                {
                    (problem, code) = ($"upstream {target} is {why}.", DiagnosticCodes.UpstreamForbidden);
                }
                else if (!policy.AllowsAddress(address))
                {
                    problem = $"upstream {target} is outside the upstreams tenant '{tenant}' may reach ({policy}; quota AllowedUpstreams" +
                        (Addresses.IsThisMachine(address) ? "; loopback needs a range inside 127.0.0.0/8 or ::1, 0.0.0.0/0 does not include it" : "") +
                        "). Use an upstream those allow, or ask the operator to allow this one.";
                }
            }
            else if (!target.IsIpLiteral && !policy.AllowsName(target.Host))
            {
                problem = $"upstream {target} is a name no host glob of tenant '{tenant}' matches ({policy}; quota AllowedUpstreams). " +
                    "Use an upstream those allow, or ask the operator to allow this one.";
            }

            if (problem is not null)
            {
                any |= excluded.TryAdd(upstream.Mapping, Quota(upstream.Mapping, code, problem, sources.GetValueOrDefault(upstream.Mapping)));
            }
        }

        return any;
    }

    /// <summary>A host-less catch-all on a TLS-inspected listener takes every name no other route takes: it needs <c>*</c>.</summary>
    private static bool ExcludeCatchAlls(string tenant, GatewayPlan plan, TenantQuota quota, Dictionary<ResourceRef, SourceLocation?> sources,
        Dictionary<ResourceRef, Diagnostic> excluded)
    {
        if (quota.AllowedHosts is not { } entries || entries.Contains(HostPattern.Any.Text))
        {
            return false;
        }

        var any = false;
        foreach (var listener in plan.Listeners.Where(l => l.TlsInspected && l.CatchAll is not null))
        {
            foreach (var upstream in listener.CatchAll!.Upstreams)
            {
                any |= excluded.TryAdd(upstream.Mapping, Quota(upstream.Mapping, DiagnosticCodes.QuotaHosts,
                    $"a mapping without host on {listener.Endpoint}, where TLS is routed by name, takes every name no other route takes " +
                    $"(host '*'), which tenant '{tenant}' may not claim ({List(entries)}; quota AllowedHosts). Give the mapping a host those " +
                    "cover, use a port without TLS routing, or ask the operator to allow '*'.", sources.GetValueOrDefault(upstream.Mapping)));
            }
        }

        return any;
    }

    private static IEnumerable<RoutePlan> Routes(ListenerPlan listener) =>
        listener.SniRoutes.Select(r => r.Route).Concat(listener.CatchAll is null ? [] : [listener.CatchAll]);

    private static int? PortOf(Resource resource) => resource switch
    {
        TcpMapping m => m.Port,
        ListenerResource l => l.Port,
        _ => null,
    };

    private static string List(ImmutableArray<string> entries) => entries.IsEmpty ? "none" : string.Join(", ", entries);

    private static void ExcludePorts(string tenant, IReadOnlyList<Resource> resources, TenantQuota quota, Dictionary<ResourceRef, Diagnostic> excluded)
    {
        if (quota.AllowedPorts is not { } ranges)
        {
            return;
        }

        foreach (var resource in resources)
        {
            if (PortOf(resource) is { } p && !ranges.Any(r => r.Contains(p)))
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
