using System.Collections.Frozen;
using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>The <c>ambassador</c> Module (other Modules never get here): the <c>spec.config</c> defaults that concern TCP.</summary>
internal static class ModuleReader
{
    /// <summary>Emissary Module keys that only affect HTTP (or Envoy itself): valid, accepted without effect.</summary>
    private static readonly FrozenSet<string> NoEffectOnTcp = FrozenSet.ToFrozenSet(
    [
        "add_linkerd_headers", "admin_port", "allow_chunked_length", "buffer", "buffer_per_connection_limit_bytes",
        "cluster_idle_timeout_ms", "cluster_max_connection_lifetime_ms", "cluster_request_timeout_ms", "cors",
        "default_label_domain", "default_labels", "defaults", "diagnostics", "enable_grpc_http11_bridge",
        "enable_grpc_web", "enable_http10", "envoy_log_format", "envoy_log_path", "envoy_log_type",
        "envoy_validation_timeout", "error_response_overrides", "forward_client_cert_details", "grpc_stats",
        "header_case_order", "headers_with_underscores_action", "ip_allow", "ip_deny", "keepalive",
        "listener_idle_timeout_ms", "liveness_probe", "load_balancer", "lua_scripts", "max_request_headers_kb",
        "merge_slashes", "preserve_external_request_id", "proper_case", "readiness_probe", "regex_max_size",
        "regex_type", "reject_requests_with_escaped_slashes", "retry_policy", "server_name",
        "set_current_client_cert_details", "strip_matching_host_port", "suppress_envoy_headers",
        "use_proxy_proto", "use_remote_address", "x_forwarded_proto_redirect", "xff_num_trusted_hops",
        "tls_secret_namespacing", "statsd", "envoy_fatal_log_path", "http3",
    ], StringComparer.Ordinal);

    public static Resource Read(ResourceHeader header, FieldReader reader)
    {
        var spec = SpecNode.Get(header, reader);
        var ids = new AmbassadorIdField();
        var module = new ModuleResource { Name = header.Name };
        foreach (var (keyNode, value) in SpecNode.Entries(spec))
        {
            var key = FieldReader.Key(keyNode);
            switch (key)
            {
                case "config":
                    if (reader.Mapping(value, "spec.config") is { } config)
                    {
                        module = ReadConfig(reader, config, module);
                    }

                    break;
                case var _ when AmbassadorIdField.IsKey(key):
                    ids.Read(reader, key, value);
                    break;
                default:
                    reader.Unknown(keyNode, "spec." + key, "Module settings belong under spec.config");
                    break;
            }
        }

        return header.Finish(reader, () => module, ids.Value);
    }

    private static ModuleResource ReadConfig(FieldReader reader, YamlMappingNode config, ModuleResource module)
    {
        List<string>? ignored = null;
        foreach (var (keyNode, value) in config.Children)
        {
            var key = FieldReader.Key(keyNode);
            var field = "spec.config." + key;
            switch (key)
            {
                case "enable_ipv4":
                    module = module with { EnableIpv4 = reader.Boolean(value, field) };
                    break;
                case "enable_ipv6":
                    module = module with { EnableIpv6 = reader.Boolean(value, field) };
                    break;
                case "circuit_breakers":
                    module = module with { CircuitBreakers = CircuitBreakerReader.Read(reader, value, field) };
                    break;
                case "resolver":
                    module = module with { Resolver = reader.String(value, field) };
                    break;
                case "use_ambassador_namespace_for_service_resolution":
                    module = module with { UseAmbassadorNamespaceForServiceResolution = reader.Boolean(value, field) };
                    break;
                case "idle_timeout_ms":
                    module = module with { IdleTimeoutMs = reader.Integer(value, field, 0, long.MaxValue, numericString: true) };
                    break;
                case "connect_timeout_ms":
                    module = module with { ConnectTimeoutMs = reader.Integer(value, field, 0, long.MaxValue, numericString: true) };
                    break;
                case var _ when NoEffectOnTcp.Contains(key):
                    (ignored ??= []).Add(key);
                    break;
                default:
                    reader.Unknown(keyNode, field);
                    break;
            }
        }

        if (ignored is not null)
        {
            reader.Note(Severity.Info, DiagnosticCodes.FieldNoEffect, config, "spec.config",
                $"{string.Join(", ", ignored)}: no effect on TCP (HTTP or Envoy settings); ignored");
        }

        return module;
    }
}
