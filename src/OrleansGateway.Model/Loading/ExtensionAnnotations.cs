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

    /// <summary>TCPMapping: <c>off</c> turns passive outlier ejection off for the member's whole canary group (<c>on</c>: the default).</summary>
    public const string OutlierDetection = Prefix + "outlier-detection";

    /// <summary>TCPMapping: <c>tcp</c> checks the member with a TCP connect every <see cref="HealthCheckInterval"/>.</summary>
    public const string HealthCheck = Prefix + "health-check";

    /// <summary>TCPMapping with <see cref="HealthCheck"/>: how often it is checked (a <see cref="Duration"/>, 1s to 1h; default 10s).</summary>
    public const string HealthCheckInterval = Prefix + "health-check-interval";

    /// <summary>The interval of a health check without <see cref="HealthCheckInterval"/>.</summary>
    public static readonly TimeSpan DefaultHealthCheckInterval = TimeSpan.FromSeconds(10);

    /// <summary>Bounds of <see cref="HealthCheckInterval"/>: every check is a connect from every edge, so not more often than once a second.</summary>
    public static readonly TimeSpan MinHealthCheckInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxHealthCheckInterval = TimeSpan.FromHours(1);

    /// <summary>Every extension annotation a TCPMapping may carry; another <c>orleansgateway.io/</c> key is a warning (a typo is ignored otherwise).</summary>
    private static readonly FrozenSet<string> OnTcpMapping =
        FrozenSet.ToFrozenSet([ProxyProtocol, OutlierDetection, HealthCheck, HealthCheckInterval], StringComparer.Ordinal);

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
    public static string? ReadProxyProtocol(ResourceHeader header, FieldReader reader)
        => ReadOneOf(header, reader, ProxyProtocol, ["v1", "v2"], "the PROXY protocol version sent to the upstream");

    /// <summary><see cref="OutlierDetection"/>: <c>off</c>, <c>on</c>, or null when absent; anything else is an error on the resource.</summary>
    public static string? ReadOutlierDetection(ResourceHeader header, FieldReader reader)
        => ReadOneOf(header, reader, OutlierDetection, ["off", "on"], "\"off\" turns outlier ejection off for the mapping's canary group");

    /// <summary>
    /// <see cref="HealthCheck"/> and <see cref="HealthCheckInterval"/>: the interval of the member's TCP check, or null when
    /// it has none. An unknown check, an interval that is not a duration from 1s to 1h, or an interval without a check is
    /// an error on the resource.
    /// </summary>
    public static TimeSpan? ReadHealthCheck(ResourceHeader header, FieldReader reader)
    {
        var check = ReadOneOf(header, reader, HealthCheck, ["tcp"], "a TCP connect to the upstream now and then");
        if (Find(header, HealthCheckInterval) is not { } node)
        {
            return check is null ? null : DefaultHealthCheckInterval;
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

        if (check is null && !reader.HasErrorOn(Field(HealthCheck)))
        {
            reader.Error(DiagnosticCodes.AnnotationValue, node, Field(HealthCheckInterval),
                $"annotation {HealthCheckInterval} is set, but {HealthCheck} is not; add {HealthCheck}: \"tcp\" to check the upstream, or remove the interval.");
            return null;
        }

        return check is null ? null : interval;
    }

    /// <summary>The annotation's value when it is one of <paramref name="values"/>; null when absent; anything else is an error on the resource naming the annotation.</summary>
    private static string? ReadOneOf(ResourceHeader header, FieldReader reader, string annotation, string[] values, string meaning)
    {
        if (Find(header, annotation) is not { } node)
        {
            return null;
        }

        var value = reader.String(node, Field(annotation));
        if (reader.HasErrorOn(Field(annotation)))
        {
            return null;
        }

        if (value is not null && values.Contains(value, StringComparer.Ordinal))
        {
            return value;
        }

        reader.Error(DiagnosticCodes.AnnotationValue, node, Field(annotation),
            $"annotation {annotation} is '{LogText.Escape(value ?? "")}'; use {string.Join(" or ", values.Select(v => $"\"{v}\""))} ({meaning}), or remove the annotation.");
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
