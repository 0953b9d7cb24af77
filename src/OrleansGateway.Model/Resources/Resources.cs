using System.Collections.Immutable;
using System.Text.Json.Serialization;
using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Model.Resources;

/// <summary>
/// A resource as loaded from YAML/JSON (or, later, the API and Kubernetes). Records are immutable; the loader
/// has already checked field types, so the compiler only checks meaning (references, conflicts, ranges).
/// Unset optional fields are <c>null</c>: "unset" and "set to the default" differ for canary-group consistency.
/// </summary>
/// <remarks>
/// The type discriminators let System.Text.Json round-trip a <see cref="Resource"/> (the control plane's grain
/// messages and grain state carry resources that way, so this project stays free of Orleans).
/// </remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$resource")]
[JsonDerivedType(typeof(TcpMapping), "TCPMapping")]
[JsonDerivedType(typeof(ListenerResource), "Listener")]
[JsonDerivedType(typeof(HostResource), "Host")]
[JsonDerivedType(typeof(TlsContextResource), "TLSContext")]
[JsonDerivedType(typeof(ModuleResource), "Module")]
[JsonDerivedType(typeof(ResolverResource), "Resolver")]
[JsonDerivedType(typeof(SecretResource), "Secret")]
[JsonDerivedType(typeof(InvalidResource), "Invalid")]
[JsonDerivedType(typeof(ForeignResource), "Foreign")]
public abstract record Resource
{
    public abstract string Kind { get; }

    /// <summary><c>getambassador.io/v3alpha1</c>, <c>getambassador.io/v2</c> or <c>v1</c> for Secrets.</summary>
    public string ApiVersion { get; init; } = "getambassador.io/v3alpha1";

    public required string Name { get; init; }

    /// <summary><c>metadata.namespace</c>; <c>default</c> when the document has none.</summary>
    public string Namespace { get; init; } = "default";

    public ImmutableDictionary<string, string> Labels { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary><c>ambassador_id</c> as written (a bare string becomes a list of one); empty means <c>["default"]</c>.</summary>
    public ImmutableArray<string> AmbassadorId { get; init; } = [];

    public SourceLocation? Source { get; init; }

    [JsonIgnore]
    public ResourceRef Ref => new(Kind, Namespace, Name);
}

/// <summary>
/// A document of a kind this gateway handles whose fields could not be read (wrong type, missing required
/// field, ...). It keeps its identity so that it gets a <see cref="ResourceState.Discarded"/> status with the reasons.
/// </summary>
public sealed record InvalidResource : Resource
{
    public required string OriginalKind { get; init; }
    public override string Kind => OriginalKind;
    public required ImmutableArray<Diagnostic> Errors { get; init; }
}

/// <summary>One entry of <c>circuit_breakers</c>. Unset thresholds fall back to Envoy's defaults (1024/1024/1024/3).</summary>
public sealed record CircuitBreakerSpec
{
    /// <summary><c>default</c> or <c>high</c> as written; anything else discards the mapping.</summary>
    public string? Priority { get; init; }
    public int? MaxConnections { get; init; }
    public int? MaxPendingRequests { get; init; }
    public int? MaxRequests { get; init; }
    public int? MaxRetries { get; init; }
}

/// <summary><c>kind: TCPMapping</c>. Field names follow Emissary's spec (snake_case in YAML).</summary>
public sealed record TcpMapping : Resource
{
    public override string Kind => "TCPMapping";

    public required int Port { get; init; }

    /// <summary>SNI host glob; non-empty means terminate TLS.</summary>
    public string? Host { get; init; }

    public string? Address { get; init; }
    public int? Weight { get; init; }

    /// <summary><c>[scheme://]host[:port]</c> as written (v2 <c>tls: true</c> already turned into <c>https://</c>).</summary>
    public required string Service { get; init; }

    public string? Resolver { get; init; }
    public bool? EnableIpv4 { get; init; }
    public bool? EnableIpv6 { get; init; }

    /// <summary>Name of a TLSContext used to originate TLS.</summary>
    public string? Tls { get; init; }

    /// <summary>Null when unset (the Module's default applies); an empty list is "explicitly none".</summary>
    public ImmutableArray<CircuitBreakerSpec>? CircuitBreakers { get; init; }

    public long? IdleTimeoutMs { get; init; }

    /// <summary>Extension (Emissary has no such field, issue #5695): upstream connect timeout.</summary>
    public long? ConnectTimeoutMs { get; init; }

    public string? StatsName { get; init; }
    public string? ClusterTag { get; init; }

    /// <summary>Extension annotation <c>orleansgateway.io/proxy-protocol</c>: <c>v1</c> or <c>v2</c> (checked by the loader); null when absent.</summary>
    /// <remarks>Not written when null, so stored state and grain messages without it keep their bytes.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ProxyProtocol { get; init; }

    /// <summary>Extension annotation <c>orleansgateway.io/tls-passthrough</c>: true relays TLS for <see cref="Host"/> unterminated; null when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? TlsPassthrough { get; init; }

    /// <summary>Extension annotation <c>orleansgateway.io/outlier-detection</c>: <c>off</c> or <c>on</c> (checked by the loader); null when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OutlierDetection { get; init; }

    /// <summary>Extension annotation <c>orleansgateway.io/health-check</c>: <c>tcp</c> (checked by the loader); null when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? HealthCheck { get; init; }

    /// <summary>Extension annotation <c>orleansgateway.io/health-check-interval</c> as written (checked by the loader; only with <see cref="HealthCheck"/>); null when absent (10 s).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TimeSpan? HealthCheckInterval { get; init; }
}

/// <summary><c>kind: Listener</c>. Only what matters to TCP is interpreted; the rest is validated and kept.</summary>
public sealed record ListenerResource : Resource
{
    public override string Kind => "Listener";

    public required int Port { get; init; }

    /// <summary><c>HTTP|HTTPS|HTTPPROXY|HTTPSPROXY|TCP|TLS|UDP</c> as written.</summary>
    public string? Protocol { get; init; }

    /// <summary>E.g. <c>[TLS, TCP]</c>; wins over <see cref="Protocol"/> when both are set.</summary>
    public ImmutableArray<string>? ProtocolStack { get; init; }

    /// <summary><c>XFP|SECURE|INSECURE</c>; required by Emissary.</summary>
    public string? SecurityModel { get; init; }

    /// <summary>Whether <c>hostBinding</c> was given (required by Emissary; it does not limit TCPMappings).</summary>
    public bool HasHostBinding { get; init; }

    public string? StatsPrefix { get; init; }
    public int? L7Depth { get; init; }
}

/// <summary>TLS parameters shared by TLSContext and Host <c>spec.tls</c>.</summary>
public sealed record TlsParameters
{
    /// <summary><c>v1.0</c>..<c>v1.3</c> as written.</summary>
    public string? MinTlsVersion { get; init; }
    public string? MaxTlsVersion { get; init; }
    public ImmutableArray<string> CipherSuites { get; init; } = [];
    public ImmutableArray<string> EcdhCurves { get; init; } = [];

    /// <summary><c>alpn_protocols</c>; Emissary takes a comma-separated string, split here.</summary>
    public ImmutableArray<string> AlpnProtocols { get; init; } = [];

    /// <summary>Secret holding the CA that verifies peers (client certificates when terminating, the upstream when originating).</summary>
    public string? CaSecret { get; init; }
    public bool? CertRequired { get; init; }

    /// <summary>SNI sent upstream when originating.</summary>
    public string? Sni { get; init; }
}

/// <summary><c>kind: TLSContext</c>.</summary>
public sealed record TlsContextResource : Resource
{
    public override string Kind => "TLSContext";

    public ImmutableArray<string> Hosts { get; init; } = [];

    /// <summary>TLS secret name, or <c>name.namespace</c> (unless <see cref="SecretNamespacing"/> is false).</summary>
    public string? Secret { get; init; }

    public bool? SecretNamespacing { get; init; }
    public TlsParameters Tls { get; init; } = new();
}

/// <summary><c>kind: Host</c>: only its TLS side matters to TCPMappings.</summary>
public sealed record HostResource : Resource
{
    public override string Kind => "Host";

    /// <summary>Hostname glob; Emissary's default is <c>*</c>.</summary>
    public string? Hostname { get; init; }

    /// <summary><c>spec.tlsSecret.name</c> (may be <c>name.namespace</c>).</summary>
    public string? TlsSecretName { get; init; }

    /// <summary><c>spec.tlsSecret.namespace</c> when given separately.</summary>
    public string? TlsSecretNamespace { get; init; }

    /// <summary><c>spec.tlsContext.name</c>: a TLSContext whose parameters (and secret, when the Host has none) apply.</summary>
    public string? TlsContextName { get; init; }

    /// <summary><c>spec.tls</c>: inline TLS parameters.</summary>
    public TlsParameters? Tls { get; init; }
}

/// <summary>The <c>ambassador</c> Module's <c>spec.config</c> defaults that concern TCPMappings.</summary>
public sealed record ModuleResource : Resource
{
    public override string Kind => "Module";

    public bool? EnableIpv4 { get; init; }
    public bool? EnableIpv6 { get; init; }
    public ImmutableArray<CircuitBreakerSpec>? CircuitBreakers { get; init; }
    public string? Resolver { get; init; }

    /// <summary>Extension: default <c>idle_timeout_ms</c> for TCPMappings that set none.</summary>
    public long? IdleTimeoutMs { get; init; }

    /// <summary>Extension: default upstream connect timeout (Emissary: fixed 3000 ms).</summary>
    public long? ConnectTimeoutMs { get; init; }

    public bool? UseAmbassadorNamespaceForServiceResolution { get; init; }
}

public enum ResolverKind
{
    KubernetesService,
    KubernetesEndpoint,
    Consul,
}

/// <summary><c>KubernetesServiceResolver</c>, <c>KubernetesEndpointResolver</c> or <c>ConsulResolver</c>.</summary>
public sealed record ResolverResource : Resource
{
    public required ResolverKind ResolverKind { get; init; }
    public override string Kind => ResolverKind switch
    {
        ResolverKind.KubernetesService => "KubernetesServiceResolver",
        ResolverKind.KubernetesEndpoint => "KubernetesEndpointResolver",
        _ => "ConsulResolver",
    };

    /// <summary>Consul: agent address.</summary>
    public string? Address { get; init; }

    /// <summary>Consul: datacenter (default <c>dc1</c>).</summary>
    public string? Datacenter { get; init; }
}

/// <summary>
/// Kubernetes <c>v1 Secret</c>. Values are decoded (base64 <c>data</c> or plain <c>stringData</c>) PEM text.
/// A TLS secret has <see cref="TlsCrt"/> and <see cref="TlsKey"/>; a CA secret has <see cref="CaCrt"/> (or a
/// <see cref="TlsCrt"/> without key).
/// </summary>
public sealed record SecretResource : Resource
{
    public override string Kind => "Secret";

    /// <summary><c>kubernetes.io/tls</c>, <c>Opaque</c>, ...</summary>
    public string Type { get; init; } = "Opaque";

    public string? TlsCrt { get; init; }
    public string? TlsKey { get; init; }
    public string? CaCrt { get; init; }
}

/// <summary>
/// A well-formed document of a kind this gateway does not handle (HTTP <c>Mapping</c>, <c>Service</c>, ...):
/// reported as <see cref="ResourceState.Ignored"/> with a note, never an error.
/// </summary>
public sealed record ForeignResource : Resource
{
    public required string OriginalKind { get; init; }
    public override string Kind => OriginalKind;
}
