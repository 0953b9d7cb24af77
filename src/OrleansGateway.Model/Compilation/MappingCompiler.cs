using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Checks one TCPMapping on its own (everything except its canary group) and builds its upstream. Every
/// independent problem is reported, not just the first, so one round of fixes is enough.
/// </summary>
internal sealed class MappingCompiler(
    CompileOptions options,
    ModuleDefaults module,
    ResolverCatalog resolvers,
    TlsContextCatalog contexts,
    SecretCatalog secrets,
    IReadOnlyDictionary<int, ValidListener> listeners,
    TerminationLookup termination)
{
    private readonly string _bindAddress = NormalizeAddress(options.BindAddress);

    public MappingCandidate? Compile(ResourceEntry entry)
    {
        var m = (TcpMapping)entry.Resource;
        if (m.Port is < 1 or > 65535)
        {
            entry.Discard(DiagnosticCodes.MappingPort, $"port {m.Port} is not from 1 to 65535.", "spec.port");
        }

        var address = string.IsNullOrWhiteSpace(m.Address) ? _bindAddress : NormalizeAddress(m.Address);
        if (!IsIpAddress(address))
        {
            entry.Discard(DiagnosticCodes.MappingAddress, $"address '{m.Address}' is not an IP address to listen on; use e.g. 0.0.0.0, 127.0.0.1 or ::, or remove it.",
                "spec.address");
        }

        // An empty host is no host (Emissary's default); anything else must be a host pattern.
        HostPattern? host = null;
        string? hostError = null;
        if (!string.IsNullOrEmpty(m.Host) && !HostPattern.TryParse(m.Host, out host, out hostError))
        {
            entry.Discard(DiagnosticCodes.MappingHost, "host " + hostError, "spec.host");
        }

        var listener = address == _bindAddress && listeners.TryGetValue(m.Port, out var l) ? l : null;
        if (hostError is null)
        {
            CheckListener(entry, m, host, listener);
        }

        // A passthrough mapping needs no certificate: the client's TLS goes to the upstream unterminated.
        TerminationResult? tls = null;
        if (host is not null && entry.IsAccepted && m.TlsPassthrough is not true)
        {
            tls = termination.Find(host, out var certError, out var related);
            if (certError is not null)
            {
                entry.Discard(DiagnosticCodes.TlsNoCertificate, certError, "spec.host", related);
            }
        }

        var upstream = BuildUpstream(entry, m, out var upstreamResources, out var consistency);
        if (!entry.IsAccepted || upstream is null)
        {
            return null;
        }

        return new MappingCandidate(entry, new GroupKey(address, m.Port, host), listener, tls, upstream, upstreamResources, consistency!);
    }

    /// <summary>Canonical text of a listen address (<c>[::0]</c> and <c>::</c> are one listener); other text is kept for the error.</summary>
    public static string NormalizeAddress(string address)
    {
        var a = address.Trim();
        if (a.StartsWith('[') && a.EndsWith(']'))
        {
            a = a[1..^1];
        }

        return IsIpAddress(a) ? IPAddress.Parse(a).ToString() : a.ToLowerInvariant();
    }

    private static bool IsIpAddress(string address) =>
        ServiceParser.IsIpv4Literal(address) ||
        (address.Contains(':') && IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6);

    // Emissary's documented rule, which its code never enforced (docs/tcpmapping-semantics.md, row 5).
    private static void CheckListener(ResourceEntry entry, TcpMapping m, HostPattern? host, ValidListener? listener)
    {
        if (listener is null)
        {
            return;
        }

        var stack = "[" + string.Join(", ", listener.Stack) + "]";
        if (host is not null && !listener.HasTls)
        {
            entry.Discard(DiagnosticCodes.ListenerHostWithoutTls, $"it has host {host}, but {listener.Entry.Ref} on port {m.Port} has protocol stack {stack} " +
                "without TLS, so no SNI can be read there. Give the Listener TLS (protocol: TLS) or remove host.", "spec.host", listener.Entry.Ref);
        }
        else if (host is null && listener.HasHttp)
        {
            entry.Discard(DiagnosticCodes.ListenerCleartextOnHttp, $"it has no host, but {listener.Entry.Ref} on port {m.Port} has protocol stack {stack} " +
                "with HTTP, which cannot share a port with a raw TCP route. Give the mapping a host (on a TLS stack), use a TCP or TLS Listener, " +
                "or move the mapping to another port.", "spec.port", listener.Entry.Ref);
        }
    }

    private UpstreamPlan? BuildUpstream(ResourceEntry entry, TcpMapping m, out ImmutableArray<ResourceRef> resources, out ConsistencyValues? consistency)
    {
        resources = [];
        consistency = null;

        var resolverName = m.Resolver ?? module.Resolver ?? ResolverCatalog.DefaultName;
        if (!resolvers.TryGet(resolverName, out var resolver, out var resolverSource))
        {
            var from = m.Resolver is null ? $" (the default from {module.Source})" : "";
            entry.Discard(DiagnosticCodes.ResolverUnknown, $"resolver {resolverName}{from} is unknown; define a KubernetesServiceResolver/KubernetesEndpointResolver/" +
                $"ConsulResolver named {resolverName} or remove `resolver`.", m.Resolver is null ? null : "spec.resolver");
        }

        var parsed = ServiceParser.Parse(m.Service, out var serviceError);
        if (parsed is null)
        {
            entry.Discard(DiagnosticCodes.ServiceMalformed, serviceError!, "spec.service");
        }
        else
        {
            foreach (var warning in parsed.Warnings)
            {
                entry.Warn(DiagnosticCodes.ServiceIgnoredPart, warning, "spec.service");
            }
        }

        ValidTlsContext? context = null;
        if (!string.IsNullOrWhiteSpace(m.Tls))
        {
            context = contexts.FindByName(m.Tls.Trim());
            if (context is null)
            {
                var discarded = contexts.FindDiscarded(m.Tls.Trim());
                entry.Discard(DiagnosticCodes.TlsUnknownContext, discarded is null
                    ? $"tls '{m.Tls}' names no TLSContext (looked for that name in every namespace, and for 'name.namespace'). " +
                      "Create the TLSContext, fix the name, or remove tls (https:// alone originates TLS without a client certificate)."
                    : $"tls '{m.Tls}' names {discarded}, which is discarded (see its status). Fix it, or remove tls.", "spec.tls", discarded);
            }
        }

        var ipv4 = m.EnableIpv4 ?? module.EnableIpv4;
        var ipv6 = m.EnableIpv6 ?? module.EnableIpv6;
        if (!ipv4 && !ipv6)
        {
            entry.Discard(DiagnosticCodes.IpFamilyNone, "enable_ipv4 and enable_ipv6 are both false (from the mapping or the ambassador Module), so no address could be " +
                "dialled. Set one of them to true.", m.EnableIpv4 is false ? "spec.enable_ipv4" : "spec.enable_ipv6");
        }

        var breakersSpec = m.CircuitBreakers ?? module.CircuitBreakers;
        if (CircuitBreakerRules.FindInvalid(breakersSpec) is { } breakerProblem)
        {
            entry.Discard(DiagnosticCodes.BreakersInvalid, m.CircuitBreakers is null
                ? $"Invalid circuit_breakers inherited from {module.Source}: {breakerProblem}. Fix the Module, or set circuit_breakers on this mapping."
                : $"Invalid circuit_breakers: {breakerProblem}.", m.CircuitBreakers is null ? null : "spec.circuit_breakers", m.CircuitBreakers is null ? module.Source : null);
        }

        var (breakers, hasHigh) = CircuitBreakerRules.Effective(breakersSpec);
        if (hasHigh && entry.IsAccepted)
        {
            entry.Note(DiagnosticCodes.BreakersHigh, "the circuit_breakers entry with priority high has no effect: TCP connections always use the default priority.",
                "spec.circuit_breakers");
        }

        // Unset: null, the data plane's default idle timeout applies (docs/data-plane.md, "Timers"); an explicit 0: none.
        var idle = (m.IdleTimeoutMs ?? module.IdleTimeoutMs) == 0
            ? System.Threading.Timeout.InfiniteTimeSpan
            : Timeout(entry, m.IdleTimeoutMs, module.IdleTimeoutMs, null, "idle_timeout_ms");
        var connect = Timeout(entry, m.ConnectTimeoutMs, module.ConnectTimeoutMs, ModuleDefaults.DefaultConnectTimeoutMs, "connect_timeout_ms");

        if (parsed is null || !entry.IsAccepted)
        {
            return null;
        }

        var originate = parsed.Scheme == "https" || context is not null;
        if (parsed.Scheme == "http" && context is not null)
        {
            entry.Warn(DiagnosticCodes.ServiceHttpWithTls, $"service '{m.Service}' says http://, but tls: {m.Tls} originates TLS anyway" +
                (parsed.Port is null ? " (to port 443)" : "") + ". Write https:// (or no scheme) to say what happens.", "spec.service");
        }

        var targetHost = ServiceQualifier.Qualify(entry, m, parsed, resolver, module, options);
        if (!entry.IsAccepted)
        {
            return null;
        }

        var port = parsed.Port ?? (originate ? 443 : 80);
        var service = (parsed.Scheme is null ? "" : parsed.Scheme + "://") + ParsedService.HostText(targetHost) +
            (parsed.Port is { } p ? ":" + p.ToString(CultureInfo.InvariantCulture) : "");
        var target = new ServiceAddress(parsed.Scheme ?? "", targetHost, port, parsed.IsIpLiteral);

        TlsOrigination? origination = null;
        var refs = new List<ResourceRef>();
        if (resolverSource is not null)
        {
            refs.Add(resolverSource);
        }

        if (originate)
        {
            origination = OriginationBuilder.Build(context, target, secrets, refs);
        }

        resources = [.. refs];
        consistency = new ConsistencyValues(breakers, ipv4, ipv6, idle, context?.Ref) { Passthrough = m.TlsPassthrough is true };
        var clusterKey = ClusterKeys.For(m, service, context, breakersSpec, breakers, originate);
        return new UpstreamPlan(entry.Ref, options.Tenant, string.IsNullOrWhiteSpace(m.StatsName) ? m.Name : m.StatsName, service, target, 0,
            origination, resolver, ipv4, ipv6, breakers, idle, connect ?? System.Threading.Timeout.InfiniteTimeSpan, clusterKey)
        {
            SendProxyProtocol = m.ProxyProtocol switch
            {
                "v1" => ProxyProtocolVersion.V1,
                "v2" => ProxyProtocolVersion.V2,
                _ => ProxyProtocolVersion.None,
            },
            NoOutlierDetection = m.OutlierDetection == "off",
            HealthCheckInterval = m.HealthCheck == "tcp" ? m.HealthCheckInterval ?? ExtensionAnnotations.DefaultHealthCheckInterval : null,
        };
    }

    // Null means "none"; 0 means none too (for the connect timeout: wait as long as the OS does).
    private TimeSpan? Timeout(ResourceEntry entry, long? own, long? fromModule, long? fallback, string name)
    {
        var value = own ?? fromModule ?? fallback;
        if (value is < 0)
        {
            entry.Discard(DiagnosticCodes.TimeoutNegative, own is null
                ? $"{name} {value} inherited from {module.Source} is negative; fix the Module, or set {name} on this mapping (0 means none)."
                : $"{name} {value} is negative; use a number of milliseconds, or 0 for none.", own is null ? null : "spec." + name, own is null ? module.Source : null);
            return null;
        }

        return value is null or 0 ? null : TimeSpan.FromMilliseconds(value.Value);
    }
}
