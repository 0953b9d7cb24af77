using System.Collections.Frozen;
using OrleansGateway.Model.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// The gateway's extensions to Emissary's resources, written as <c>metadata.annotations</c> because Emissary's CRDs
/// prune unknown spec fields (docs/tcpmapping-semantics.md, "Extensions"). Their names and values are a contract. One
/// reader for every source (config directory, API, Kubernetes, <c>ogw check</c>): a value it does not know is an error
/// on the resource, which is then Discarded (or refused by the API), naming the annotation.
/// </summary>
internal static class ExtensionAnnotations
{
    public const string Prefix = "orleansgateway.io/";

    /// <summary>TCPMapping: send a PROXY protocol header (<c>v1</c> or <c>v2</c>) to the upstream.</summary>
    public const string ProxyProtocol = Prefix + "proxy-protocol";

    /// <summary>TCPMapping with <c>host</c>: relay the TLS connections whose SNI matches unterminated (<c>true</c> or <c>false</c>).</summary>
    public const string TlsPassthrough = Prefix + "tls-passthrough";

    /// <summary>TCPMapping: passive outlier ejection for the mapping's canary group (<c>off</c> or <c>on</c>).</summary>
    public const string OutlierDetection = Prefix + "outlier-detection";

    /// <summary>TCPMapping: active health checks of the upstream (<c>tcp</c>).</summary>
    public const string HealthCheck = Prefix + "health-check";

    /// <summary>TCPMapping with <see cref="HealthCheck"/>: how often it is checked (a <see cref="Duration"/>, 1s to 1h; default 10s).</summary>
    public const string HealthCheckInterval = Prefix + "health-check-interval";

    /// <summary>The interval of a health check without <see cref="HealthCheckInterval"/>.</summary>
    public static readonly TimeSpan DefaultHealthCheckInterval = TimeSpan.FromSeconds(10);

    /// <summary>Bounds of <see cref="HealthCheckInterval"/>: every check is a connect from every edge, so not more often than once a second.</summary>
    public static readonly TimeSpan MinHealthCheckInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxHealthCheckInterval = TimeSpan.FromHours(1);

    /// <summary>Every extension annotation a TCPMapping may carry; another <c>orleansgateway.io/</c> key is a warning (a typo is ignored otherwise).</summary>
    private static readonly FrozenSet<string> OnTcpMapping = FrozenSet.ToFrozenSet(
        [ProxyProtocol, TlsPassthrough, OutlierDetection, HealthCheck, HealthCheckInterval], StringComparer.Ordinal);

    /// <summary>Warns about <c>orleansgateway.io/</c> annotations the resource's kind has none of. Other annotations are none of the gateway's business.</summary>
    public static void CheckTcpMapping(ResourceHeader header, FieldReader reader)
    {
        if (header.Annotations is not YamlMappingNode annotations)
        {
            return;
        }

        foreach (var keyNode in annotations.Children.Keys)
        {
            var key = FieldReader.Key(keyNode);
            if (key.StartsWith(Prefix, StringComparison.Ordinal) && !OnTcpMapping.Contains(key))
            {
                reader.Note(Severity.Warning, DiagnosticCodes.FieldUnknown, keyNode, Field(key),
                    $"unknown annotation {key} on a TCPMapping; ignored (known: {string.Join(", ", OnTcpMapping.Order(StringComparer.Ordinal))})");
            }
        }
    }

    /// <summary><see cref="ProxyProtocol"/>: <c>v1</c>, <c>v2</c>, or null when absent; anything else is an error on the resource.</summary>
    public static string? ReadProxyProtocol(ResourceHeader header, FieldReader reader) =>
        ReadChoice(header, reader, ProxyProtocol, ["v1", "v2"], "the PROXY protocol version sent to the upstream");

    /// <summary><see cref="TlsPassthrough"/>: true or false, or null when absent; anything else is an error on the resource.</summary>
    public static bool? ReadTlsPassthrough(ResourceHeader header, FieldReader reader) =>
        ReadChoice(header, reader, TlsPassthrough, ["true", "false"], "relay TLS unterminated to the upstream by SNI; needs spec.host") switch
        {
            "true" => true,
            "false" => false,
            _ => null,
        };

    /// <summary>
    /// A passthrough mapping routes by the SNI of a ClientHello it never terminates: it needs <c>spec.host</c>, and it
    /// cannot originate TLS of its own (the client's TLS goes to the upstream as it is). Errors on the annotation.
    /// </summary>
    public static void CheckPassthrough(ResourceHeader header, FieldReader reader, string? host, string? tls, string? service)
    {
        var node = Find(header, TlsPassthrough)!;
        if (string.IsNullOrEmpty(host))
        {
            reader.Error(DiagnosticCodes.AnnotationValue, node, Field(TlsPassthrough),
                $"annotation {TlsPassthrough} needs spec.host: a passthrough mapping is chosen by the SNI of the client's ClientHello; add spec.host (the SNI name) or remove the annotation.");
        }

        if (tls is not null || service?.StartsWith("https://", StringComparison.OrdinalIgnoreCase) == true)
        {
            reader.Error(DiagnosticCodes.AnnotationValue, node, Field(TlsPassthrough),
                $"annotation {TlsPassthrough} relays the client's own TLS to the upstream unchanged, so the mapping cannot originate TLS too; remove spec.tls and the https:// of spec.service, or remove the annotation.");
        }
    }

    /// <summary><see cref="OutlierDetection"/>: <c>off</c>, <c>on</c>, or null when absent; anything else is an error on the resource.</summary>
    public static string? ReadOutlierDetection(ResourceHeader header, FieldReader reader) =>
        ReadChoice(header, reader, OutlierDetection, ["off", "on"], "passive outlier ejection for this mapping's canary group");

    /// <summary><see cref="HealthCheck"/>: <c>tcp</c>, or null when absent; anything else is an error on the resource.</summary>
    public static string? ReadHealthCheck(ResourceHeader header, FieldReader reader) =>
        ReadChoice(header, reader, HealthCheck, ["tcp"], "active TCP connect checks of the upstream");

    /// <summary>
    /// <see cref="HealthCheckInterval"/> as written, or null when absent. Not a duration from 1s to 1h, or set without
    /// <paramref name="healthCheck"/> (<see cref="ReadHealthCheck"/>'s value), is an error on the resource.
    /// </summary>
    public static TimeSpan? ReadHealthCheckInterval(ResourceHeader header, FieldReader reader, string? healthCheck)
    {
        if (Find(header, HealthCheckInterval) is not { } node)
        {
            return null;
        }

        var text = reader.String(node, Field(HealthCheckInterval));
        if (reader.HasErrorOn(Field(HealthCheckInterval)))
        {
            return null;
        }

        if (text is null || !Duration.TryParse(text, out var interval) || interval < MinHealthCheckInterval || interval > MaxHealthCheckInterval)
        {
            reader.Error(DiagnosticCodes.AnnotationValue, node, Field(HealthCheckInterval),
                $"annotation {HealthCheckInterval} is '{LogText.Escape(text ?? "")}'; use a duration from 1s to 1h, a number and a unit " +
                "such as \"5s\" or \"1m\" (ms, s, m or h), or remove the annotation (the interval is then 10s).");
            return null;
        }

        if (healthCheck is null && !reader.HasErrorOn(Field(HealthCheck)))
        {
            reader.Error(DiagnosticCodes.AnnotationValue, node, Field(HealthCheckInterval),
                $"annotation {HealthCheckInterval} is set, but {HealthCheck} is not; add {HealthCheck}: \"tcp\" to check the upstream, or remove the interval.");
            return null;
        }

        return interval;
    }

    /// <summary>The annotation's value when it is one of <paramref name="allowed"/>; null when absent or not one of them (then an error naming it).</summary>
    private static string? ReadChoice(ResourceHeader header, FieldReader reader, string name, string[] allowed, string meaning)
    {
        if (Find(header, name) is not { } node)
        {
            return null;
        }

        // A plain true/false (tls-passthrough: true) means the same text; Kubernetes only ever sends strings.
        var value = node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "true" or "false" } plain
            ? plain.Value
            : reader.String(node, Field(name));
        if (reader.HasErrorOn(Field(name)))
        {
            return null;
        }

        if (value is not null && allowed.Contains(value, StringComparer.Ordinal))
        {
            return value;
        }

        var choices = string.Join(" or ", allowed.Select(a => $"\"{a}\""));
        reader.Error(DiagnosticCodes.AnnotationValue, node, Field(name),
            $"annotation {name} is '{LogText.Escape(value ?? "")}'; use {choices} ({meaning}), or remove the annotation.");
        return null;
    }

    private static string Field(string annotation) => "metadata.annotations." + annotation;

    private static YamlNode? Find(ResourceHeader header, string name)
    {
        if (header.Annotations is not YamlMappingNode annotations)
        {
            return null;
        }

        foreach (var (keyNode, value) in annotations.Children)
        {
            if (FieldReader.Key(keyNode) == name)
            {
                return value;
            }
        }

        return null;
    }
}
