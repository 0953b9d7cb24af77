namespace OrleansGateway.Model.Diagnostics;

/// <summary>
/// Every stable code of a <see cref="Diagnostic"/>, whoever gives it: the loader, the compiler, the tenant grain,
/// the management API and the certificate reader. Tools and tests match on these (they are in `ogw check --output
/// json` and in API problems), so a code never changes meaning; a new situation gets a new code.
/// </summary>
public static class DiagnosticCodes
{
    // Loader: files and documents.

    /// <summary>A document is not valid YAML/JSON (Error).</summary>
    public const string YamlSyntax = "yaml.syntax";

    /// <summary>A document (or list item) is a scalar or list where a resource mapping was expected (Error).</summary>
    public const string DocumentNotMapping = "document.not-mapping";

    public const string KindMissing = "document.kind-missing";
    public const string ApiVersionMissing = "document.api-version-missing";
    public const string NameMissing = "document.name-missing";

    /// <summary>A file is too big to read to its end (nodes, or findings): the rest of it is not read (Error).</summary>
    public const string FileLimit = "file.limit";

    /// <summary>A required field is absent or null (Error, on the resource).</summary>
    public const string FieldRequired = "field.required";

    /// <summary>A field has the wrong YAML type, e.g. a list where a string was expected (Error).</summary>
    public const string FieldType = "field.type";

    /// <summary>A number is outside its allowed range (Error).</summary>
    public const string FieldRange = "field.range";

    /// <summary>A Secret value is not valid base64 or not PEM text (Error).</summary>
    public const string FieldEncoding = "field.encoding";

    /// <summary>A field this gateway refuses on purpose, e.g. certificate file paths (Error).</summary>
    public const string FieldUnsupported = "field.unsupported";

    /// <summary>A metadata.name that is not a DNS-1123 subdomain or a metadata.namespace that is not a DNS-1123 label (Error).</summary>
    public const string FieldName = "field.name";

    /// <summary>An extension annotation (<c>orleansgateway.io/...</c>) with a value the gateway does not know (Error, on the resource).</summary>
    public const string AnnotationValue = "annotation.value";

    /// <summary>A field the loader does not know (Warning; the resource still loads).</summary>
    public const string FieldUnknown = "field.unknown";

    /// <summary>A known Emissary field that has no effect on layer-4 routing (Info or Warning).</summary>
    public const string FieldNoEffect = "field.no-effect";

    /// <summary>A kind this gateway does not handle, kept as a ForeignResource (Info).</summary>
    public const string KindForeign = "kind.foreign";

    /// <summary>An Emissary kind under an apiVersion this gateway does not read, kept as a ForeignResource (Warning).</summary>
    public const string KindApiVersion = "kind.api-version";

    /// <summary>A path could not be listed or read (Error).</summary>
    public const string IoError = "io.error";

    // Compiler: which resources take part.

    public const string AmbassadorIdMismatch = "ambassador_id.mismatch";
    public const string ResourceForeign = "resource.foreign";

    /// <summary>The same (kind, namespace, name) twice: in the files (compiler) or in one API request.</summary>
    public const string ResourceDuplicate = "resource.duplicate";

    public const string ResourceInvalid = "resource.invalid";

    // Compiler: per kind.

    public const string ModuleOther = "module.other";
    public const string ModuleDuplicate = "module.duplicate";
    public const string ModuleCircuitBreakers = "module.circuit_breakers";
    public const string SecretIncomplete = "secret.incomplete";
    public const string TlsContextInvalid = "tlscontext.invalid";

    /// <summary>A TLSContext <c>hosts</c> entry is no host pattern (docs/tcpmapping-semantics.md, "Host names").</summary>
    public const string TlsContextHosts = "tlscontext.hosts";

    /// <summary>A Host <c>hostname</c> is no host pattern.</summary>
    public const string HostHostname = "host.hostname";

    public const string HostNoTls = "host.no_tls";
    public const string HostTlsContext = "host.tlscontext";
    public const string HostSecret = "host.secret";
    public const string HostTls = "host.tls";
    public const string ResolverDuplicate = "resolver.duplicate";
    public const string ResolverUnknown = "resolver.unknown";
    public const string ResolverConsulDots = "resolver.consul_dots";
    public const string ResolverConsulPort = "resolver.consul_port";
    public const string ListenerDuplicate = "listener.duplicate";
    public const string ListenerHttp = "listener.http";
    public const string ListenerHostBinding = "listener.hostbinding";
    public const string ListenerPort = "listener.port";
    public const string ListenerProtocol = "listener.protocol";
    public const string ListenerStack = "listener.stack";
    public const string ListenerUdp = "listener.udp";
    public const string ListenerSecurityModel = "listener.security_model";
    public const string ListenerUnused = "listener.unused";
    public const string ListenerHostWithoutTls = "listener.host_without_tls";
    public const string ListenerCleartextOnHttp = "listener.cleartext_on_http";
    public const string MappingPort = "mapping.port";
    public const string MappingAddress = "mapping.address";

    /// <summary>A TCPMapping <c>host</c> is no host pattern.</summary>
    public const string MappingHost = "mapping.host";

    public const string TlsNoCertificate = "tls.no_certificate";
    public const string TlsUnknownContext = "tls.unknown_context";
    public const string ServiceMalformed = "service.malformed";
    public const string ServiceIgnoredPart = "service.ignored_part";
    public const string ServiceHttpWithTls = "service.http_with_tls";
    public const string IpFamilyNone = "ip_family.none";
    public const string BreakersInvalid = "breakers.invalid";
    public const string BreakersHigh = "breakers.high";
    public const string TimeoutNegative = "timeout.negative";
    public const string GroupConflict = "group.conflict";

    /// <summary>
    /// A canary group whose weights cannot be used: every member is Discarded, and <see cref="Plan.CompileResult.RefusedGroups"/>
    /// carries the group and the reason. Also the code of a member kept at its last accepted version for that reason.
    /// </summary>
    public const string GroupWeights = "group.weights";

    public const string GroupWeightsScaled = "group.weights_scaled";

    // Tenant grain: what only the control plane knows.

    public const string QuotaPorts = "quota.ports";
    public const string QuotaMappings = "quota.mappings";
    public const string QuotaListeners = "quota.listeners";

    /// <summary>An upstream outside the tenant's quota <c>AllowedUpstreams</c> (address ranges and host globs).</summary>
    public const string QuotaUpstreams = "quota.upstreams";

    /// <summary>An SNI name (TCPMapping host, Host hostname, TLSContext hosts) outside the tenant's quota <c>AllowedHosts</c>.</summary>
    public const string QuotaHosts = "quota.hosts";

    /// <summary>A Listener or TCPMapping on a port of the gateway itself (a silo, Orleans gateway or management API port).</summary>
    public const string PortReserved = "port.reserved";

    /// <summary>An IP-literal upstream the gateway refuses whatever the quota: its own endpoints, link-local, cloud metadata.</summary>
    public const string UpstreamForbidden = "upstream.forbidden";

    /// <summary>More Listener, Host, TLSContext, Secret or Module resources than the tenant's quota allows (Error).</summary>
    public const string QuotaKind = "quota.kind";

    /// <summary>An apply of more resources than quota MaxResourcesPerApply (Error; the whole apply is refused).</summary>
    public const string QuotaApplySize = "quota.apply-size";

    /// <summary>The tenant's stored state would be larger than quota MaxStateBytes (Error; the change is refused).</summary>
    public const string QuotaStateSize = "quota.state-size";

    /// <summary>Another tenant already holds the port, catch-all or SNI name (the message never names it).</summary>
    public const string ListenerClaimRefused = "listener.claim-refused";

    public const string ApplyInvalid = "apply.invalid";

    /// <summary>
    /// The certificate source (Key Vault) that keeps Secret keys could not take a Secret's key: the API answers 503, a
    /// per-resource source keeps the Secret's last accepted version (docs/key-vault.md, "Secret resources").
    /// </summary>
    public const string SecretStoreUnavailable = "secret.store-unavailable";

    /// <summary>The certificate source cannot keep this Secret's key whatever its state, e.g. its vault name would be too long (Error).</summary>
    public const string SecretStoreRefused = "secret.store-refused";

    // Management API: the request itself.

    public const string KindUnknown = "kind.unknown";
    public const string ResourceAbsent = "resource.absent";

    /// <summary>The answer carries only the first diagnostics; this one counts the rest (Info).</summary>
    public const string DiagnosticsTruncated = "diagnostics.truncated";

    // Certificate material of a Secret (read where certificates are loaded).

    public const string SecretDuplicate = "secret.duplicate";
    public const string SecretEmpty = "secret.empty";
    public const string SecretPem = "secret.pem";
    public const string SecretKeyMismatch = "secret.key-mismatch";
    public const string SecretExpired = "secret.expired";
    public const string SecretNotYetValid = "secret.not-yet-valid";

    /// <summary>
    /// A code only the tenant grain gives (claims, quota, the certificate source): what its stored outcome adds to an offline compile of the
    /// same resources, which gives every other code itself.
    /// </summary>
    public static bool IsControlPlaneOnly(string code) =>
        code is ListenerClaimRefused or QuotaPorts or QuotaMappings or QuotaListeners or QuotaUpstreams or QuotaHosts or PortReserved or UpstreamForbidden
            or SecretStoreUnavailable or SecretStoreRefused or QuotaKind or QuotaApplySize or QuotaStateSize;
}
