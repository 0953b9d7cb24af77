using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Turns canary groups into listeners (docs/tcpmapping-semantics.md, row 6): a group attaches to the explicit Listener on
/// its port when it binds the gateway's address, otherwise to an automatic Listener, which inspects TLS when ANY
/// of its groups has a host (order-independent, unlike Emissary's "first group").
/// </summary>
internal static class ListenerAssembler
{
    public static ImmutableArray<ListenerPlan> Build(IEnumerable<CanaryGroup> groups, IReadOnlyDictionary<int, ValidListener> listeners)
    {
        var plans = new List<ListenerPlan>();
        var used = new HashSet<ValidListener>();
        foreach (var endpointGroups in groups.GroupBy(g => g.Key.Endpoint))
        {
            var endpoint = endpointGroups.Key;
            var members = endpointGroups.ToList();
            var explicitListener = members[0].First.Listener;
            if (explicitListener is not null)
            {
                used.Add(explicitListener);
            }

            var inspected = explicitListener?.HasTls ?? members.Any(g => g.Key.Host is not null);
            var prefix = explicitListener?.Resource.StatsPrefix is { Length: > 0 } sp
                ? sp
                : (inspected ? "ingress_tls_" : "ingress_tcp_") + endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

            var resources = new List<ResourceRef>();
            if (explicitListener is not null)
            {
                resources.Add(explicitListener.Entry.Ref);
            }

            var sni = new List<SniRoute>();
            RoutePlan? catchAll = null;
            foreach (var group in members)
            {
                var route = new RoutePlan("GROUP: " + group.First.Mapping.Name, [.. group.Members.Select(m => m.Upstream)]);
                foreach (var m in group.Members)
                {
                    resources.Add(m.Entry.Ref);
                    resources.AddRange(m.UpstreamResources);
                }

                if (group.Key.Host is null)
                {
                    // Cleartext listener: the only group. TLS-inspecting listener: raw passthrough of whatever no SNI route takes.
                    catchAll = route;
                    continue;
                }

                if (group.First.Consistency.Passthrough)
                {
                    sni.Add(new SniRoute(group.Key.Host, null, route));
                    continue;
                }

                var termination = group.First.Termination!;
                resources.AddRange(termination.Resources);
                sni.Add(new SniRoute(group.Key.Host, termination.Termination, route));
            }

            sni.Sort((a, b) => HostPattern.SniOrder.Compare(a.Host, b.Host));
            var name = explicitListener?.Resource.Name ?? $"listener-{endpoint.Address}-{endpoint.Port}";
            plans.Add(new ListenerPlan(endpoint, name, explicitListener?.Entry.Ref, inspected, prefix, [.. sni], catchAll,
                ResourceOrder.SortedDistinct(resources))
            {
                ProxyProtocol = explicitListener?.HasProxy ?? false,
            });
        }

        foreach (var listener in listeners.Values.Where(l => !used.Contains(l)))
        {
            listener.Entry.Note(DiagnosticCodes.ListenerUnused, $"no accepted TCPMapping uses port {listener.Resource.Port}, so nothing binds it " +
                "(it is not in the plan). Add a TCPMapping for this port, or delete the Listener.");
        }

        plans.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.Endpoint.Address, b.Endpoint.Address);
            return c != 0 ? c : a.Endpoint.Port.CompareTo(b.Endpoint.Port);
        });
        return [.. plans];
    }
}
