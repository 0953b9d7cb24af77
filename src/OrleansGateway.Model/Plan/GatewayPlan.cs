using System.Collections.Immutable;
using System.Text.Json.Serialization;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Networks;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Plan;

/// <summary>
/// What the compiler produces and the data plane consumes: every listener to bind, with its routes.
/// Immutable; a new configuration is a new plan, swapped whole (a connection keeps the plan it started with).
/// </summary>
public sealed record GatewayPlan(string AmbassadorId, ImmutableArray<ListenerPlan> Listeners)
{
    public static GatewayPlan Empty(string ambassadorId) => new(ambassadorId, []);

    /// <summary>
    /// Concurrent-connection limit per tenant on each edge (the tenant's quota <c>MaxConcurrentConnections</c>); a
    /// tenant absent here is unlimited. A connection belongs to the tenant of the route it takes.
    /// </summary>
    public ImmutableDictionary<string, int> ConnectionLimits { get; init; } = ImmutableDictionary<string, int>.Empty;

    /// <summary>
    /// The upstreams each tenant may reach (its quota's <c>allowedUpstreams</c>), checked by the data plane for every
    /// address it would dial; a tenant absent here is unlimited (only the gateway's own rules hold for it).
    /// </summary>
    public ImmutableDictionary<string, UpstreamPolicy> UpstreamPolicies { get; init; } = ImmutableDictionary<string, UpstreamPolicy>.Empty;
}

/// <summary>A socket to bind: the address is always concrete (the gateway's bind address fills an unset one).</summary>
public sealed record ListenerEndpoint(string Address, int Port)
{
    public override string ToString() => Address.Contains(':') ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}

/// <summary>
/// One listener. When <see cref="TlsInspected"/> the ClientHello is peeked and routed by SNI through
/// <see cref="SniRoutes"/>; whatever no SNI route takes (no TLS, no SNI, unknown SNI) goes to
/// <see cref="CatchAll"/> when there is one, and is closed otherwise. When not inspected every
/// connection goes to <see cref="CatchAll"/>.
/// </summary>
/// <param name="Name">The Listener resource's name, or <c>listener-&lt;address&gt;-&lt;port&gt;</c> for an automatic one.</param>
/// <param name="Source">The explicit Listener resource, null for an automatic Listener.</param>
/// <param name="StatsPrefix">Metrics label: the Listener's <c>statsPrefix</c>, else <c>ingress_tls_PORT</c> / <c>ingress_tcp_PORT</c>.</param>
/// <param name="Resources">Every resource that contributes to this listener (for reporting bind errors on them).</param>
public sealed record ListenerPlan(
    ListenerEndpoint Endpoint,
    string Name,
    ResourceRef? Source,
    bool TlsInspected,
    string StatsPrefix,
    ImmutableArray<SniRoute> SniRoutes,
    RoutePlan? CatchAll,
    ImmutableArray<ResourceRef> Resources)
{
    /// <summary>
    /// The explicit Listener's stack has PROXY: every connection must start with a PROXY protocol header (v1 or v2),
    /// whose source address is the client's from then on (docs/tcpmapping-semantics.md, "Extensions").
    /// </summary>
    /// <remarks>Not written when false, so plans without it keep their bytes.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool ProxyProtocol { get; init; }
}

/// <summary>The PROXY protocol header a mapping sends its upstream (annotation <c>orleansgateway.io/proxy-protocol</c>).</summary>
public enum ProxyProtocolVersion
{
    None,
    V1,
    V2,
}

/// <summary>A route selected by SNI: TLS-terminating, or passthrough (<see cref="Termination"/> null).</summary>
/// <param name="Host">The mapping's <c>host</c>, canonical (<see cref="HostPattern"/>).</param>
/// <param name="Termination">Where the certificate comes from; null for a passthrough route (annotation
/// <c>orleansgateway.io/tls-passthrough</c>), whose ClientHello and every byte after it go to the upstream unchanged.</param>
public sealed record SniRoute([property: JsonPropertyOrder(-2)] HostPattern Host, TlsTermination? Termination, RoutePlan Route)
{
    /// <summary>The client's TLS goes to the upstream unterminated (docs/tcpmapping-semantics.md, "SNI passthrough").</summary>
    [JsonIgnore]
    public bool Passthrough => Termination is null;

    /// <summary>
    /// The <see cref="HostPattern.Kind"/> of <see cref="Host"/>, written right after it and ignored when read: plans
    /// stored and sent before host patterns carry it there, and a build of that time takes the kind from it. So listener
    /// state and messages keep their bytes, and during a rolling upgrade an older silo still tells a wildcard from an
    /// exact name.
    /// </summary>
    [JsonPropertyOrder(-1)]
    public HostPatternKind Kind => Host.Kind;
}

/// <summary>Reference to a Secret by namespace and name (namespace already resolved).</summary>
public sealed record SecretRef(string Namespace, string Name)
{
    /// <summary>
    /// The tenant whose Secret this is (the compiler sets <see cref="CompileOptions.Tenant"/>). Part of equality:
    /// an edge serves the listeners of every tenant, and two tenants may both have a Secret <c>default/tls</c>.
    /// </summary>
    public string Tenant { get; init; } = CompileOptions.DefaultTenant;

    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>TLS versions as an ordered enum (Emissary's <c>v1.0</c> .. <c>v1.3</c>).</summary>
public enum TlsVersion
{
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// <summary>Downstream TLS: where the certificate comes from and how the handshake is constrained.</summary>
/// <param name="CertificateSource">The Host or TLSContext that supplied the certificate.</param>
/// <param name="CipherSuites">OpenSSL/IANA names as written; empty means the platform default.</param>
/// <param name="ClientCa">CA that verifies client certificates (<c>ca_secret</c>); null means none asked for.</param>
public sealed record TlsTermination(
    ResourceRef CertificateSource,
    SecretRef Certificate,
    TlsVersion? MinVersion,
    TlsVersion? MaxVersion,
    ImmutableArray<string> CipherSuites,
    ImmutableArray<string> AlpnProtocols,
    SecretRef? ClientCa,
    bool ClientCertificateRequired);

/// <summary>Upstream TLS. All fields optional: <c>https://</c> alone originates with no client certificate and no verification.</summary>
/// <param name="Context">The TLSContext named by <c>tls:</c>, null for plain <c>https://</c>.</param>
/// <param name="Sni">TLSContext <c>sni</c>, else the service host when it is a DNS name, else null.</param>
/// <param name="TrustedCa">When set, the upstream certificate must chain to it (chain only, no hostname check, as Envoy without SAN matching); when null any upstream certificate is accepted.</param>
public sealed record TlsOrigination(
    ResourceRef? Context,
    SecretRef? ClientCertificate,
    string? Sni,
    SecretRef? TrustedCa,
    TlsVersion? MinVersion,
    TlsVersion? MaxVersion,
    ImmutableArray<string> CipherSuites,
    ImmutableArray<string> AlpnProtocols);

/// <summary>A parsed <c>service</c>: host is lower-cased, IPv6 without brackets; port already defaulted (80 or 443).</summary>
public sealed record ServiceAddress(string Scheme, string Host, int Port, bool IsIpLiteral)
{
    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>How to turn the service host into addresses.</summary>
/// <param name="Name">Resolver resource name (e.g. <c>kubernetes-service</c>, <c>consul</c>).</param>
/// <param name="Datacenter">Consul only.</param>
/// <param name="Address">Consul agent address, when set.</param>
public sealed record ResolverPlan(string Name, ResolverKind Kind, string? Datacenter = null, string? Address = null)
{
    public static readonly ResolverPlan KubernetesService = new("kubernetes-service", ResolverKind.KubernetesService);
}

/// <summary>Effective thresholds (Envoy defaults 1024/1024/1024/3 when unset). Only the DEFAULT priority applies to TCP.</summary>
public sealed record CircuitBreakerPlan(int MaxConnections, int MaxPendingRequests, int MaxRequests, int MaxRetries)
{
    public static readonly CircuitBreakerPlan Default = new(1024, 1024, 1024, 3);
}

/// <summary>One member of a canary group.</summary>
/// <param name="Mapping">The TCPMapping this upstream comes from.</param>
/// <param name="StatsName">Metrics label: <c>stats_name</c>, else the mapping name.</param>
/// <param name="Service">The normalized service string (namespace-qualified when that rule applies).</param>
/// <param name="Share">Percentage of connections, 0..100; the shares of a route add up to 100 (0-share members never get one).</param>
/// <param name="Origination">Null when the upstream connection is cleartext.</param>
/// <param name="ClusterKey">Identity of the upstream cluster: connection counts for circuit breakers are kept per key
/// (Emissary: service + tls + namespace + breakers + cluster_tag).</param>
/// <param name="IdleTimeout">Null: the data plane's default (<c>ProxyOptions.DefaultIdleTimeout</c>); <see cref="Timeout.InfiniteTimeSpan"/>: none (<c>idle_timeout_ms: 0</c>).</param>
public sealed record UpstreamPlan(
    ResourceRef Mapping,
    string Tenant,
    string StatsName,
    string Service,
    ServiceAddress Target,
    double Share,
    TlsOrigination? Origination,
    ResolverPlan Resolver,
    bool EnableIpv4,
    bool EnableIpv6,
    CircuitBreakerPlan CircuitBreakers,
    TimeSpan? IdleTimeout,
    TimeSpan ConnectTimeout,
    string ClusterKey)
{
    /// <summary>The PROXY protocol header sent to the upstream before any client byte; <see cref="ProxyProtocolVersion.None"/>: none.</summary>
    /// <remarks>Not written when none, so plans without it keep their bytes.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ProxyProtocolVersion SendProxyProtocol { get; init; }

    /// <summary>
    /// The mapping says <c>orleansgateway.io/outlier-detection: "off"</c>: passive outlier ejection is off for its whole
    /// canary group (docs/tcpmapping-semantics.md, "Outlier ejection").
    /// </summary>
    /// <remarks>Not written when false, so plans without it keep their bytes.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool NoOutlierDetection { get; init; }

    /// <summary>How often the data plane checks this member with a TCP connect; null: no active check.</summary>
    /// <remarks>Not written when null, so plans without it keep their bytes.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TimeSpan? HealthCheckInterval { get; init; }
}

/// <summary>A canary group: every TCPMapping with the same (address, port, host).</summary>
/// <param name="Name">Emissary-style group name: <c>GROUP: &lt;first mapping name&gt;</c>.</param>
public sealed record RoutePlan(string Name, ImmutableArray<UpstreamPlan> Upstreams);
