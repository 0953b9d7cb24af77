using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// How the loader types YAML scalars. Kubernetes manifests follow the YAML 1.2 core schema, so only
/// <c>true</c>/<c>false</c> are booleans (not <c>yes</c>/<c>on</c>) and a quoted scalar is always a string.
/// </summary>
internal static class YamlValues
{
    private const int MaxShownLength = 60;

    public static bool IsPlain(YamlScalarNode scalar) => scalar.Style is ScalarStyle.Plain or ScalarStyle.Any;

    /// <summary>An empty value, <c>~</c> or <c>null</c>: Kubernetes treats such a field as absent, and so do we.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode scalar && IsPlain(scalar) && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static bool TryBoolean(YamlScalarNode scalar, out bool value)
    {
        value = false;
        if (!IsPlain(scalar))
        {
            return false;
        }

        switch (scalar.Value)
        {
            case "true" or "True" or "TRUE":
                value = true;
                return true;
            case "false" or "False" or "FALSE":
                return true;
            default:
                return false;
        }
    }

    public static bool TryInteger(string? text, out long value) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>How a value is shown after "found" in messages: the text quoted, or what kind of node it is.</summary>
    public static string Describe(YamlNode node)
    {
        switch (node)
        {
            case YamlSequenceNode:
                return "a list";
            case YamlMappingNode:
                return "a mapping";
            case YamlScalarNode scalar when IsNull(scalar):
                return "null";
            case YamlScalarNode scalar:
                var text = scalar.Value ?? "";
                if (text.Length > MaxShownLength)
                {
                    text = string.Concat(text.AsSpan(0, MaxShownLength), "...");
                }

                return IsPlain(scalar) ? $"'{text}'" : $"the quoted string '{text}'";
            default:
                return "an alias";
        }
    }
}
