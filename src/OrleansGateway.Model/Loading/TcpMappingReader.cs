using System.Collections.Frozen;
using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary><c>kind: TCPMapping</c> (v3alpha1 and v2).</summary>
internal static class TcpMappingReader
{
    /// <summary>HTTP <c>Mapping</c> options people copy into TCPMappings; the warning says why they do nothing.</summary>
    private static readonly FrozenSet<string> HttpOnly = FrozenSet.ToFrozenSet(
    [
        "prefix", "prefix_regex", "prefix_exact", "rewrite", "regex_rewrite", "host_rewrite", "auto_host_rewrite",
        "hostname", "host_regex", "method", "method_regex", "headers", "regex_headers", "query_parameters",
        "regex_query_parameters", "cors", "retry_policy", "add_request_headers", "add_response_headers",
        "remove_request_headers", "remove_response_headers", "bypass_auth", "auth_context_extensions", "grpc",
        "use_websocket", "allow_upgrade", "case_sensitive", "rate_limits", "shadow", "envoy_override",
        "error_response_overrides", "bypass_error_response_overrides", "precedence", "docs", "host_redirect",
        "path_redirect", "prefix_redirect", "regex_redirect", "redirect_response_code", "add_linkerd_headers",
        "labels", "modules", "timeout_ms",
    ], StringComparer.Ordinal);

    /// <summary>Cluster options Emissary drops on TCPMappings (not in IRTCPMapping.AllowedKeys).</summary>
    private static readonly FrozenSet<string> NotOnTcp = FrozenSet.ToFrozenSet(
    [
        "dns_type", "respect_dns_ttl", "load_balancer", "health_checks", "keepalive", "outlier_detection",
        "cluster_idle_timeout_ms", "cluster_max_connection_lifetime_ms",
    ], StringComparer.Ordinal);

    public static Resource Read(ResourceHeader header, FieldReader reader)
    {
        var spec = SpecNode.Get(header, reader);
        var ids = new AmbassadorIdField();
        int? port = null;
        string? service = null, host = null, address = null, resolver = null, tls = null, statsName = null, clusterTag = null;
        int? weight = null;
        bool? ipv4 = null, ipv6 = null;
        var originateV2 = false;
        ImmutableArray<CircuitBreakerSpec>? breakers = null;
        long? idle = null, connect = null;
        var emptyService = false;

        foreach (var (keyNode, value) in SpecNode.Entries(spec))
        {
            var key = FieldReader.Key(keyNode);
            switch (key)
            {
                case "port":
                    port = reader.Int32(value, "spec.port", 1, 65535, numericString: true);
                    break;
                case "service":
                    service = reader.String(value, "spec.service");
                    emptyService = service is "";
                    break;
                case "host":
                    host = reader.String(value, "spec.host");
                    break;
                case "address":
                    address = reader.String(value, "spec.address");
                    break;
                case "weight":
                    weight = reader.Int32(value, "spec.weight", 0);
                    break;
                case "resolver":
                    resolver = reader.String(value, "spec.resolver");
                    break;
                case "enable_ipv4":
                    ipv4 = reader.Boolean(value, "spec.enable_ipv4");
                    break;
                case "enable_ipv6":
                    ipv6 = reader.Boolean(value, "spec.enable_ipv6");
                    break;
                case "tls":
                    tls = ReadTls(header, reader, value, ref originateV2);
                    break;
                case "circuit_breakers":
                    breakers = CircuitBreakerReader.Read(reader, value, "spec.circuit_breakers");
                    break;
                case "idle_timeout_ms":
                    idle = reader.Integer(value, "spec.idle_timeout_ms", 0, long.MaxValue, numericString: true);
                    break;
                case "connect_timeout_ms":
                    connect = reader.Integer(value, "spec.connect_timeout_ms", 0, long.MaxValue, numericString: true);
                    break;
                case "stats_name":
                case "v3StatsName" when header.IsV2:
                    statsName = reader.String(value, "spec." + key);
                    break;
                case "cluster_tag":
                    clusterTag = reader.String(value, "spec.cluster_tag");
                    break;
                case "v2ExplicitTLS":
                    // Only records how a v2 resource spelled its TLS settings, for round trips; no meaning.
                    break;
                case var _ when AmbassadorIdField.IsKey(key):
                    ids.Read(reader, key, value);
                    break;
                default:
                    reader.Unknown(keyNode, "spec." + key, Hint(key));
                    break;
            }
        }

        ExtensionAnnotations.CheckTcpMapping(header, reader);
        var proxyProtocol = ExtensionAnnotations.ReadProxyProtocol(header, reader);
        var passthrough = ExtensionAnnotations.ReadTlsPassthrough(header, reader);
        var outlierDetection = ExtensionAnnotations.ReadOutlierDetection(header, reader);
        var healthCheck = ExtensionAnnotations.ReadHealthCheck(header, reader);
        var healthCheckInterval = ExtensionAnnotations.ReadHealthCheckInterval(header, reader, healthCheck);

        if (passthrough is true)
        {
            ExtensionAnnotations.CheckPassthrough(header, reader, host, tls, service);
        }

        var missingAt = SpecNode.MissingAt(header, spec);
        if (port is null && !reader.HasErrorOn("spec.port"))
        {
            reader.Required(missingAt, "spec.port");
        }

        if (service is null or "" && !reader.HasErrorOn("spec.service"))
        {
            reader.Error(DiagnosticCodes.FieldRequired, missingAt, "spec.service",
                emptyService ? "spec.service is required, found an empty string" : "spec.service is required");
        }

        if (originateV2 && service is not null && !service.Contains("://", StringComparison.Ordinal))
        {
            // getambassador.io/v2 `tls: true` is converted by Emissary's API server to an https:// service.
            service = "https://" + service;
        }

        return header.Finish(reader, () => new TcpMapping
        {
            Name = header.Name,
            Port = port!.Value,
            Service = service!,
            Host = host,
            Address = address,
            Weight = weight,
            Resolver = resolver,
            EnableIpv4 = ipv4,
            EnableIpv6 = ipv6,
            Tls = tls,
            CircuitBreakers = breakers,
            IdleTimeoutMs = idle,
            ConnectTimeoutMs = connect,
            StatsName = statsName,
            ClusterTag = clusterTag,
            ProxyProtocol = proxyProtocol,
            TlsPassthrough = passthrough,
            OutlierDetection = outlierDetection,
            HealthCheck = healthCheck,
            HealthCheckInterval = healthCheckInterval,
        }, ids.Value);
    }

    /// <summary>v2: <c>true</c> originates TLS without a context, <c>false</c> does nothing, a string names a TLSContext. v3alpha1: a name only.</summary>
    private static string? ReadTls(ResourceHeader header, FieldReader reader, YamlNode value, ref bool originate)
    {
        if (value is YamlScalarNode scalar && YamlValues.TryBoolean(scalar, out var flag))
        {
            if (header.IsV2)
            {
                originate = flag;
                return null;
            }

            reader.Error(DiagnosticCodes.FieldType, value, "spec.tls",
                $"expected the name of a TLSContext, found {YamlValues.Describe(value)} " +
                "(tls: true is the getambassador.io/v2 spelling; in v3alpha1 write service: https://... to originate TLS)");
            return null;
        }

        return reader.String(value, "spec.tls");
    }

    private static string? Hint(string key) => key switch
    {
        "timeout_ms" => "timeout_ms is an HTTP Mapping option; a TCPMapping has idle_timeout_ms (and the extension connect_timeout_ms)",
        _ when HttpOnly.Contains(key) => $"{key} is an HTTP Mapping option; a TCPMapping routes by port (and SNI host) only",
        _ when NotOnTcp.Contains(key) => $"{key} is not supported on TCPMappings (Emissary ignores it too)",
        _ => null,
    };
}
