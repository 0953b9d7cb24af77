using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

public class TcpMappingLoadingTests
{
    [Fact]
    public void Every_field_is_read()
    {
        var mapping = LoaderAssert.Single<TcpMapping>("""
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name: db
              namespace: team-a
              labels:
                app: db
                tier: "1"
            spec:
              ambassador_id: [edge, _automatic_]
              port: 5432
              host: db.example.com
              address: 10.0.0.1
              weight: 30
              service: postgres.data:5432
              resolver: my-consul
              enable_ipv4: true
              enable_ipv6: false
              tls: upstream-ctx
              circuit_breakers:
              - priority: high
                max_connections: 100
                max_pending_requests: 10
                max_requests: 20
                max_retries: 3
              idle_timeout_ms: 60000
              connect_timeout_ms: 1500
              stats_name: db-stats
              cluster_tag: blue
            """);

        Assert.Equal("db", mapping.Name);
        Assert.Equal("team-a", mapping.Namespace);
        Assert.Equal("getambassador.io/v3alpha1", mapping.ApiVersion);
        Assert.Equal("db", mapping.Labels["app"]);
        Assert.Equal("1", mapping.Labels["tier"]);
        Assert.Equal(["edge", "_automatic_"], mapping.AmbassadorId.ToArray());
        Assert.Equal(5432, mapping.Port);
        Assert.Equal("db.example.com", mapping.Host);
        Assert.Equal("10.0.0.1", mapping.Address);
        Assert.Equal(30, mapping.Weight);
        Assert.Equal("postgres.data:5432", mapping.Service);
        Assert.Equal("my-consul", mapping.Resolver);
        Assert.True(mapping.EnableIpv4);
        Assert.False(mapping.EnableIpv6);
        Assert.Equal("upstream-ctx", mapping.Tls);
        var breaker = Assert.Single(mapping.CircuitBreakers!.Value);
        Assert.Equal(new CircuitBreakerSpec { Priority = "high", MaxConnections = 100, MaxPendingRequests = 10, MaxRequests = 20, MaxRetries = 3 }, breaker);
        Assert.Equal(60000, mapping.IdleTimeoutMs);
        Assert.Equal(1500, mapping.ConnectTimeoutMs);
        Assert.Equal("db-stats", mapping.StatsName);
        Assert.Equal("blue", mapping.ClusterTag);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 0, 1), mapping.Source);
    }

    [Fact]
    public void Unset_fields_stay_null_and_defaults_apply()
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 2222\nservice: upstream:22"));

        Assert.Equal("default", mapping.Namespace);
        Assert.Empty(mapping.AmbassadorId);
        Assert.Empty(mapping.Labels);
        Assert.Null(mapping.Host);
        Assert.Null(mapping.Weight);
        Assert.Null(mapping.EnableIpv4);
        Assert.Null(mapping.CircuitBreakers);
        Assert.Null(mapping.IdleTimeoutMs);
        Assert.Null(mapping.Tls);
    }

    [Theory]
    [InlineData("True", true)]
    [InlineData("yes", true)]
    [InlineData("on", true)]
    [InlineData("FALSE", false)]
    [InlineData("no", false)]
    [InlineData("Off", false)]
    public void Boolean_fields_take_the_spellings_kubectl_takes(string text, bool expected)
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping($"port: 1\nservice: a\nenable_ipv6: {text}"));

        Assert.Equal(expected, mapping.EnableIpv6);
    }

    [Fact]
    public void Empty_circuit_breaker_list_is_kept_as_explicitly_none()
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 1\nservice: a\ncircuit_breakers: []"));

        Assert.NotNull(mapping.CircuitBreakers);
        Assert.Empty(mapping.CircuitBreakers.Value);
    }

    [Fact]
    public void Null_values_count_as_unset()
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 1\nservice: a\nhost:\nweight: ~\ntls: null"));

        Assert.Null(mapping.Host);
        Assert.Null(mapping.Weight);
        Assert.Null(mapping.Tls);
    }

    [Theory]
    [InlineData("port: 2222", 2222)]
    [InlineData("port: '2222'", 2222)]
    [InlineData("port: \"2222\"", 2222)]
    [InlineData("port: 1", 1)]
    [InlineData("port: 65535", 65535)]
    public void Port_accepts_an_integer_or_a_numeric_string(string portLine, int expected)
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping(portLine + "\nservice: a"));

        Assert.Equal(expected, mapping.Port);
    }

    [Theory]
    [InlineData("idle_timeout_ms: 5000", 5000)]
    [InlineData("idle_timeout_ms: '5000'", 5000)]
    [InlineData("idle_timeout_ms: 0", 0)]
    public void Idle_timeout_accepts_an_integer_or_a_numeric_string(string line, long expected)
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 1\nservice: a\n" + line));

        Assert.Equal(expected, mapping.IdleTimeoutMs);
    }

    [Theory]
    [InlineData("service: upstream:443\ntls: true", "https://upstream:443", null)]
    [InlineData("service: http://upstream:80\ntls: true", "http://upstream:80", null)]
    [InlineData("service: https://upstream\ntls: true", "https://upstream", null)]
    [InlineData("service: upstream:80\ntls: false", "upstream:80", null)]
    [InlineData("tls: true\nservice: upstream", "https://upstream", null)]
    [InlineData("service: upstream\ntls: client-ctx", "upstream", "client-ctx")]
    [InlineData("service: upstream\ntls: 'true'", "upstream", "true")]
    public void V2_tls_boolean_becomes_an_https_service(string lines, string service, string? tls)
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 9000\n" + lines, apiVersion: "getambassador.io/v2"));

        Assert.Equal(service, mapping.Service);
        Assert.Equal(tls, mapping.Tls);
        Assert.Equal("getambassador.io/v2", mapping.ApiVersion);
    }

    [Fact]
    public void V2_stats_name_spelling_is_read()
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 1\nservice: a\nv3StatsName: s", apiVersion: "getambassador.io/v2"));

        Assert.Equal("s", mapping.StatsName);
    }

    [Fact]
    public void V1_is_read_like_v2()
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 1\nservice: a\ntls: true", apiVersion: "getambassador.io/v1"));

        Assert.Equal("https://a", mapping.Service);
    }

    [Fact]
    public void V3_tls_boolean_is_an_error_with_a_hint()
    {
        var invalid = LoaderAssert.Invalid(LoaderAssert.TcpMapping("port: 1\nservice: a\ntls: true"));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal("spec.tls", error.Field);
        Assert.Equal(DiagnosticCodes.FieldType, error.Code);
        Assert.Contains("https://", error.Message);
    }

    [Theory]
    [InlineData("ambassador_id: edge", new[] { "edge" })]
    [InlineData("ambassador_id: [a, b]", new[] { "a", "b" })]
    [InlineData("ambassadorId: [camel]", new[] { "camel" })]
    [InlineData("ambassadorId: camel\nambassador_id: snake", new[] { "camel" })]
    [InlineData("ambassador_id: snake\nambassadorId: camel", new[] { "camel" })]
    [InlineData("ambassador_id: []", new string[0])]
    public void Ambassador_id_is_a_string_or_a_list(string line, string[] expected)
    {
        var mapping = LoaderAssert.Single<TcpMapping>(LoaderAssert.TcpMapping("port: 1\nservice: a\n" + line));

        Assert.Equal(expected, mapping.AmbassadorId.ToArray());
    }

    [Theory]
    [InlineData("prefix", "HTTP Mapping option")]
    [InlineData("timeout_ms", "idle_timeout_ms")]
    [InlineData("load_balancer", "not supported on TCPMappings")]
    [InlineData("servise", "check the spelling")]
    [InlineData("<<", "merge keys")]
    public void Unknown_fields_warn_and_the_mapping_still_loads(string field, string hint)
    {
        var result = LoaderAssert.Parse(LoaderAssert.TcpMapping($"port: 1\nservice: a\n{field}: x"));

        Assert.IsType<TcpMapping>(Assert.Single(result.Resources));
        var warning = Assert.Single(result.Diagnostics);
        Assert.Equal(Severity.Warning, warning.Severity);
        Assert.Equal(DiagnosticCodes.FieldUnknown, warning.Code);
        Assert.Equal("spec." + field, warning.Field);
        Assert.Equal(new ResourceRef("TCPMapping", "default", "m"), warning.Resource);
        Assert.Equal(8, warning.Source!.Line);
        Assert.Contains(hint, warning.Message);
    }

    [Fact]
    public void A_spec_field_at_the_top_level_warns_about_indentation()
    {
        var result = LoaderAssert.Parse(LoaderAssert.TcpMapping("port: 1\nservice: a") + "\nhost: x");

        var warning = Assert.Single(result.Diagnostics);
        Assert.Equal(DiagnosticCodes.FieldUnknown, warning.Code);
        Assert.Equal("host", warning.Field);
        Assert.Contains("indented", warning.Message);
    }

    private static string Annotated(string annotations) => AnnotatedWith(annotations, "port: 1\nservice: a");

    [Theory]
    [InlineData("orleansgateway.io/proxy-protocol: v1", "v1")]
    [InlineData("orleansgateway.io/proxy-protocol: \"v2\"", "v2")]
    [InlineData("kubectl.kubernetes.io/last-applied-configuration: '{}'", null)]
    public void The_proxy_protocol_annotation_is_read(string annotation, string? expected)
    {
        var mapping = LoaderAssert.Single<TcpMapping>(Annotated(annotation));

        Assert.Equal(expected, mapping.ProxyProtocol);
    }

    [Theory]
    [InlineData("orleansgateway.io/proxy-protocol: v3")]
    [InlineData("orleansgateway.io/proxy-protocol: V2")]
    [InlineData("orleansgateway.io/proxy-protocol: \"\"")]
    [InlineData("orleansgateway.io/proxy-protocol: true")]
    [InlineData("orleansgateway.io/proxy-protocol: [v1]")]
    public void An_unknown_proxy_protocol_value_is_an_error_naming_the_annotation(string annotation)
    {
        var invalid = LoaderAssert.Invalid(Annotated(annotation));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal("metadata.annotations.orleansgateway.io/proxy-protocol", error.Field);
        Assert.Contains(error.Code, new[] { DiagnosticCodes.AnnotationValue, DiagnosticCodes.FieldType });
        if (error.Code == DiagnosticCodes.AnnotationValue)
        {
            Assert.Contains("orleansgateway.io/proxy-protocol", error.Message);
            Assert.Contains("\"v1\" or \"v2\"", error.Message);
        }
    }

    [Fact]
    public void An_unknown_gateway_annotation_warns_and_the_mapping_still_loads()
    {
        var result = LoaderAssert.Parse(Annotated("orleansgateway.io/proxy-protcol: v2"));

        Assert.IsType<TcpMapping>(Assert.Single(result.Resources));
        var warning = Assert.Single(result.Diagnostics);
        Assert.Equal(DiagnosticCodes.FieldUnknown, warning.Code);
        Assert.Contains("orleansgateway.io/proxy-protocol", warning.Message);
    }

    private static string AnnotatedWith(string annotations, string spec) => $"""
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: m
          annotations:
        {LoaderAssert.Indent(LoaderAssert.Indent(annotations))}
        spec:
        {LoaderAssert.Indent(spec)}
        """;

    [Theory]
    [InlineData("orleansgateway.io/tls-passthrough: \"true\"", true)]
    [InlineData("orleansgateway.io/tls-passthrough: true", true)]
    [InlineData("orleansgateway.io/tls-passthrough: \"false\"", false)]
    public void The_tls_passthrough_annotation_is_read(string annotation, bool expected)
    {
        var mapping = LoaderAssert.Single<TcpMapping>(AnnotatedWith(annotation, "port: 443\nhost: db.example.com\nservice: db:5432"));

        Assert.Equal(expected, mapping.TlsPassthrough);
        Assert.Equal("db.example.com", mapping.Host);
    }

    [Theory]
    [InlineData("port: 443\nservice: db:5432", "needs spec.host")]
    [InlineData("port: 443\nhost: \"\"\nservice: db:5432", "needs spec.host")]
    [InlineData("port: 443\nhost: db.example.com\nservice: https://db:5432", "cannot originate TLS")]
    [InlineData("port: 443\nhost: db.example.com\nservice: db:5432\ntls: origin", "cannot originate TLS")]
    public void A_passthrough_mapping_without_host_or_with_origination_is_an_error_on_the_annotation(string spec, string expected)
    {
        var invalid = LoaderAssert.Invalid(AnnotatedWith("orleansgateway.io/tls-passthrough: \"true\"", spec));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal(DiagnosticCodes.AnnotationValue, error.Code);
        Assert.Equal("metadata.annotations.orleansgateway.io/tls-passthrough", error.Field);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("orleansgateway.io/tls-passthrough: \"yes\"", "orleansgateway.io/tls-passthrough", "\"true\" or \"false\"")]
    [InlineData("orleansgateway.io/outlier-detection: \"disabled\"", "orleansgateway.io/outlier-detection", "\"off\" or \"on\"")]
    [InlineData("orleansgateway.io/health-check: \"http\"", "orleansgateway.io/health-check", "\"tcp\"")]
    public void An_unknown_value_of_an_issue_19_annotation_is_an_error_naming_it(string annotation, string name, string choices)
    {
        var invalid = LoaderAssert.Invalid(AnnotatedWith(annotation, "port: 443\nhost: db.example.com\nservice: db:5432"));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal("metadata.annotations." + name, error.Field);
        Assert.Contains(name, error.Message);
        Assert.Contains(choices, error.Message);
    }

    [Fact]
    public void The_outlier_detection_and_health_check_annotations_are_read_without_warnings()
    {
        var result = LoaderAssert.Parse(Annotated("orleansgateway.io/outlier-detection: \"off\"\norleansgateway.io/health-check: tcp"));

        var mapping = Assert.IsType<TcpMapping>(Assert.Single(result.Resources));
        Assert.Empty(result.Diagnostics);
        Assert.Equal("off", mapping.OutlierDetection);
        Assert.Equal("tcp", mapping.HealthCheck);
    }

    [Theory]
    [InlineData("orleansgateway.io/outlier-detection: \"off\"", "off")]
    [InlineData("orleansgateway.io/outlier-detection: off", "off")]
    [InlineData("orleansgateway.io/outlier-detection: \"on\"", "on")]
    [InlineData("kubectl.kubernetes.io/last-applied-configuration: '{}'", null)]
    public void The_outlier_detection_annotation_is_read(string annotation, string? expected)
        => Assert.Equal(expected, LoaderAssert.Single<TcpMapping>(Annotated(annotation)).OutlierDetection);

    [Theory]
    [InlineData("orleansgateway.io/health-check: tcp", null)]
    [InlineData("orleansgateway.io/health-check: \"tcp\"\norleansgateway.io/health-check-interval: \"5s\"", 5_000)]
    [InlineData("orleansgateway.io/health-check: tcp\norleansgateway.io/health-check-interval: 1500ms", 1_500)]
    [InlineData("orleansgateway.io/health-check: tcp\norleansgateway.io/health-check-interval: 1h", 3_600_000)]
    [InlineData("kubectl.kubernetes.io/last-applied-configuration: '{}'", null)]
    public void The_health_check_interval_is_read_as_written(string annotations, int? milliseconds)
        => Assert.Equal(milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null, LoaderAssert.Single<TcpMapping>(Annotated(annotations)).HealthCheckInterval);

    [Theory]
    [InlineData("orleansgateway.io/outlier-detection: \"false\"", "orleansgateway.io/outlier-detection", "\"off\" or \"on\"")]
    [InlineData("orleansgateway.io/outlier-detection: OFF", "orleansgateway.io/outlier-detection", "\"off\" or \"on\"")]
    [InlineData("orleansgateway.io/outlier-detection: \"\"", "orleansgateway.io/outlier-detection", "\"off\" or \"on\"")]
    [InlineData("orleansgateway.io/health-check: http", "orleansgateway.io/health-check", "\"tcp\"")]
    [InlineData("orleansgateway.io/health-check: \"TCP\"", "orleansgateway.io/health-check", "\"tcp\"")]
    [InlineData("orleansgateway.io/health-check: tcp\norleansgateway.io/health-check-interval: \"5\"", "orleansgateway.io/health-check-interval", "from 1s to 1h")]
    [InlineData("orleansgateway.io/health-check: tcp\norleansgateway.io/health-check-interval: 500ms", "orleansgateway.io/health-check-interval", "from 1s to 1h")]
    [InlineData("orleansgateway.io/health-check: tcp\norleansgateway.io/health-check-interval: 2h", "orleansgateway.io/health-check-interval", "from 1s to 1h")]
    [InlineData("orleansgateway.io/health-check: tcp\norleansgateway.io/health-check-interval: \"-5s\"", "orleansgateway.io/health-check-interval", "from 1s to 1h")]
    [InlineData("orleansgateway.io/health-check-interval: 5s", "orleansgateway.io/health-check-interval", "orleansgateway.io/health-check: \"tcp\"")]
    public void An_unknown_outlier_or_health_check_value_is_an_error_naming_the_annotation(string annotations, string annotation, string hint)
    {
        var invalid = LoaderAssert.Invalid(Annotated(annotations));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal(DiagnosticCodes.AnnotationValue, error.Code);
        Assert.Equal("metadata.annotations." + annotation, error.Field);
        Assert.Contains(annotation, error.Message);
        Assert.Contains(hint, error.Message);
    }

    /// <summary>The Kubernetes source hands the loader each object as JSON, where an annotation is always a JSON string.</summary>
    [Fact]
    public void The_issue_19_annotations_read_the_same_from_the_json_the_kubernetes_source_passes()
    {
        var mapping = LoaderAssert.Single<TcpMapping>("""
            {"apiVersion": "getambassador.io/v3alpha1", "kind": "TCPMapping",
             "metadata": {"name": "m", "namespace": "default", "annotations": {
               "orleansgateway.io/tls-passthrough": "true", "orleansgateway.io/outlier-detection": "on",
               "orleansgateway.io/health-check": "tcp", "orleansgateway.io/proxy-protocol": "v1"}},
             "spec": {"port": 443, "host": "db.example.com", "service": "db:5432"}}
            """);

        Assert.True(mapping.TlsPassthrough);
        Assert.Equal("on", mapping.OutlierDetection);
        Assert.Equal("tcp", mapping.HealthCheck);
        Assert.Equal("v1", mapping.ProxyProtocol);
    }

    /// <summary>The interval reads the same from the JSON the Kubernetes source passes (annotations are JSON strings there).</summary>
    [Fact]
    public void The_health_check_interval_reads_the_same_from_kubernetes_json()
    {
        var mapping = LoaderAssert.Single<TcpMapping>("""
            {"apiVersion": "getambassador.io/v3alpha1", "kind": "TCPMapping",
             "metadata": {"name": "m", "namespace": "default", "annotations": {
               "orleansgateway.io/outlier-detection": "off", "orleansgateway.io/health-check": "tcp",
               "orleansgateway.io/health-check-interval": "2m"}},
             "spec": {"port": 2222, "service": "db:5432", "weight": 50}}
            """);

        Assert.Equal(("off", "tcp", TimeSpan.FromMinutes(2)), (mapping.OutlierDetection, mapping.HealthCheck, mapping.HealthCheckInterval));
    }
}
