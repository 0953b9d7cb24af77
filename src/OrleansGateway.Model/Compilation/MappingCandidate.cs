using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// A TCPMapping that passed every check of its own, waiting for its canary group: where it listens, its
/// upstream (share not yet known), the resources that upstream uses (resolver, origination TLSContext and
/// Secrets) and the effective values its group must agree on.
/// </summary>
internal sealed record MappingCandidate(
    ResourceEntry Entry,
    GroupKey Key,
    ValidListener? Listener,
    TerminationResult? Termination,
    UpstreamPlan Upstream,
    ImmutableArray<ResourceRef> UpstreamResources,
    ConsistencyValues Consistency)
{
    public TcpMapping Mapping => (TcpMapping)Entry.Resource;
}

/// <summary>A canary group's identity: concrete address, port and canonical host (null: none).</summary>
internal sealed record GroupKey(string Address, int Port, HostPattern? Host)
{
    public ListenerEndpoint Endpoint => new(Address, Port);

    public override string ToString() => Host is null ? $"{Endpoint}, no host" : $"{Endpoint}, host {Host}";
}

/// <summary>The effective values of the group-consistency keys (unset = its default: docs/tcpmapping-semantics.md, row 30).</summary>
internal sealed record ConsistencyValues(CircuitBreakerPlan CircuitBreakers, bool EnableIpv4, bool EnableIpv6, TimeSpan? IdleTimeout, ResourceRef? Tls)
{
    /// <summary>Annotation <c>orleansgateway.io/tls-passthrough</c>: a group either terminates its host or relays it unterminated.</summary>
    public bool Passthrough { get; init; }

    /// <summary>(field, this value, other value) for every key on which the two differ, in a fixed order.</summary>
    public IEnumerable<(string Field, string Mine, string Theirs)> Differences(ConsistencyValues other)
    {
        if (CircuitBreakers != other.CircuitBreakers)
        {
            yield return ("circuit_breakers", Describe(CircuitBreakers), Describe(other.CircuitBreakers));
        }

        if (EnableIpv4 != other.EnableIpv4)
        {
            yield return ("enable_ipv4", Lower(EnableIpv4), Lower(other.EnableIpv4));
        }

        if (EnableIpv6 != other.EnableIpv6)
        {
            yield return ("enable_ipv6", Lower(EnableIpv6), Lower(other.EnableIpv6));
        }

        if (IdleTimeout != other.IdleTimeout)
        {
            yield return ("idle_timeout_ms", Describe(IdleTimeout), Describe(other.IdleTimeout));
        }

        if (Tls != other.Tls)
        {
            yield return ("tls", Tls?.ToString() ?? "none", other.Tls?.ToString() ?? "none");
        }

        if (Passthrough != other.Passthrough)
        {
            yield return ("metadata.annotations.orleansgateway.io/tls-passthrough", Lower(Passthrough), Lower(other.Passthrough));
        }
    }

    private static string Lower(bool b) => b ? "true" : "false";

    /// <summary>An idle timeout as written: unset (the gateway's default applies), 0 (none), or milliseconds.</summary>
    private static string Describe(TimeSpan? t) => t switch
    {
        null => "unset",
        { } v when v == Timeout.InfiniteTimeSpan => "0 (none)",
        { } v => ((long)v.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Describe(CircuitBreakerPlan b) =>
        $"[max_connections {b.MaxConnections}, max_pending_requests {b.MaxPendingRequests}, max_requests {b.MaxRequests}, max_retries {b.MaxRetries}]";
}
