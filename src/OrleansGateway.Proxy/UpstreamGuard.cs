using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using OrleansGateway.Model.Networks;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>
/// Decides, for every address a connection would dial, whether it may be dialled: the gateway's own rules
/// (<see cref="GatewayEgress"/>: its own endpoints across the cluster, link-local, cloud metadata) and the tenant's
/// <c>AllowedUpstreams</c> (<see cref="GatewayPlan.UpstreamPolicies"/>). Checked per resolved address at connect time, so
/// a name that resolves to such an address is caught as well as a literal (docs/data-plane.md, "Protected upstreams").
/// Its rules are swapped whole by one reference write (a plan, or the cluster's endpoints); a check takes no lock.
/// </summary>
internal sealed class UpstreamGuard
{
    /// <summary>A refusal of one tenant's mapping is logged at most this often (the count of the ones held back follows).</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    /// <summary>Addresses of this machine's interfaces, read once: a connect to one of them reaches this process's ports.</summary>
    private static readonly Lazy<FrozenSet<IPAddress>> InterfaceAddresses = new(ReadInterfaceAddresses);

    private readonly ProxyOptions _options;
    private readonly GatewayEgress _egress;
    private readonly ILogger _log;
    private readonly LogRateLimiter _logLimiter;
    private Rules _rules;

    public UpstreamGuard(ProxyOptions options, ILogger log, TimeProvider time)
    {
        _options = options;
        _egress = new GatewayEgress(options.AllowedUpstreamNetworks, options.AllowLinkLocalUpstreams);
        _log = log;
        _logLimiter = new LogRateLimiter(time, LogInterval);
        _rules = new Rules(options, InterfaceAddresses.Value, [], [], [], ImmutableDictionary<string, UpstreamPolicy>.Empty);
    }

    /// <summary>
    /// Why <paramref name="upstream"/> must not dial <paramref name="endPoint"/>, or null when it may. A refusal is logged
    /// (at most once per <see cref="LogInterval"/> per tenant and mapping) and its reason goes to the access log.
    /// </summary>
    public string? Refusal(UpstreamPlan upstream, IPEndPoint endPoint)
    {
        var rules = Volatile.Read(ref _rules);
        var why = _egress.Refusal(endPoint, rules.Reserved);
        if (why is null && rules.Policies.TryGetValue(upstream.Tenant, out var policy) && !policy.AllowsAddress(endPoint.Address))
        {
            why = $"outside the upstreams tenant '{upstream.Tenant}' may reach (quota AllowedUpstreams: {policy})";
        }

        if (why is not null)
        {
            var mapping = $"{upstream.Mapping.Namespace}/{upstream.Mapping.Name}";
            if (_logLimiter.TryEnter($"{upstream.Tenant}\n{mapping}", out var heldBack))
            {
                ProxyLog.UpstreamForbidden(_log, mapping, upstream.Tenant, endPoint.ToString(), why, heldBack);
            }
        }

        return why;
    }

    /// <summary>Whether a listener may bind <paramref name="port"/>: not a silo, Orleans gateway or API port of the cluster.</summary>
    public bool IsReservedListenPort(int port) => Volatile.Read(ref _rules).ControlPorts.Contains(port);

    /// <summary>The plan's listener ports (no loops) and its tenants' allowed upstreams.</summary>
    public void UsePlan(GatewayPlan plan)
    {
        Swap(r => r.With(listenerPorts: [.. plan.Listeners.Select(l => l.Endpoint.Port)], policies: plan.UpstreamPolicies));
    }

    /// <summary>The cluster's own addresses and control ports (every silo's silo, Orleans gateway and API port).</summary>
    public void UseCluster(IEnumerable<IPAddress> hosts, IEnumerable<int> controlPorts)
    {
        Swap(r => r.With(clusterHosts: [.. hosts], clusterPorts: [.. controlPorts]));
    }

    /// <summary>Plans and cluster updates come from different loops: a lost update would drop the other's rules.</summary>
    private void Swap(Func<Rules, Rules> change)
    {
        while (true)
        {
            var current = Volatile.Read(ref _rules);
            if (Interlocked.CompareExchange(ref _rules, change(current), current) == current)
            {
                return;
            }
        }
    }

    private static FrozenSet<IPAddress> ReadInterfaceAddresses()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .ToFrozenSet();
        }
        catch (NetworkInformationException)
        {
            // Without the list, loopback and the unspecified address are still guarded, and the cluster's reports add
            // every silo's addresses.
            return FrozenSet<IPAddress>.Empty;
        }
    }

    /// <summary>Everything a check reads, immutable; the sets are built once per change, not per check.</summary>
    private sealed class Rules
    {
        public Rules(ProxyOptions options, FrozenSet<IPAddress> localAddresses, ImmutableArray<IPAddress> clusterHosts, ImmutableArray<int> clusterPorts,
            ImmutableArray<int> listenerPorts, ImmutableDictionary<string, UpstreamPolicy> policies)
        {
            (Options, LocalAddresses, ClusterHosts, ClusterPorts, ListenerPorts, Policies) =
                (options, localAddresses, clusterHosts, clusterPorts, listenerPorts, policies);
            ControlPorts = options.ProtectedPorts.Concat(clusterPorts).ToFrozenSet();
            Reserved = new ReservedEndpoints(
                localAddresses.Concat(clusterHosts).Select(Addresses.Canonical).ToFrozenSet(),
                ControlPorts.Concat(listenerPorts).ToFrozenSet());
        }

        public ProxyOptions Options { get; }

        public FrozenSet<IPAddress> LocalAddresses { get; }

        public ImmutableArray<IPAddress> ClusterHosts { get; }

        public ImmutableArray<int> ClusterPorts { get; }

        public ImmutableArray<int> ListenerPorts { get; }

        public ImmutableDictionary<string, UpstreamPolicy> Policies { get; }

        /// <summary>This process's own ports (<see cref="ProxyOptions.ProtectedPorts"/>) and the cluster's.</summary>
        public FrozenSet<int> ControlPorts { get; }

        public ReservedEndpoints Reserved { get; }

        public Rules With(ImmutableArray<IPAddress>? clusterHosts = null, ImmutableArray<int>? clusterPorts = null,
            ImmutableArray<int>? listenerPorts = null, ImmutableDictionary<string, UpstreamPolicy>? policies = null) =>
            new(Options, LocalAddresses, clusterHosts ?? ClusterHosts, clusterPorts ?? ClusterPorts, listenerPorts ?? ListenerPorts, policies ?? Policies);
    }
}
