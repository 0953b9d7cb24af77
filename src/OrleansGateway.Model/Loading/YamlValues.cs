using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// How the loader types YAML scalars: a quoted scalar is always a string; a plain <c>true</c>/<c>false</c> is a
/// boolean, and in a boolean field the YAML 1.1 spellings kubectl also takes (<c>yes</c>, <c>on</c>, ...) are too.
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

    /// <summary>
    /// <see cref="TryBoolean"/> plus YAML 1.1's <c>y/yes/on</c> and <c>n/no/off</c>: kubectl (go-yaml v2) reads
    /// those as booleans, so a manifest that works with Emissary keeps working here. Only for boolean fields:
    /// elsewhere <c>on</c> stays text.
    /// </summary>
    public static bool TryLenientBoolean(YamlScalarNode scalar, out bool value)
    {
        if (TryBoolean(scalar, out value))
        {
            return true;
        }

        if (!IsPlain(scalar))
        {
            return false;
        }

        switch (scalar.Value)
        {
            case "y" or "Y" or "yes" or "Yes" or "YES" or "on" or "On" or "ON":
                value = true;
                return true;
            case "n" or "N" or "no" or "No" or "NO" or "off" or "Off" or "OFF":
                value = false;
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
                // Escaped: the value is the tenant's, and the message goes to logs and terminals.
                var text = scalar.Value ?? "";
                if (text.Length > MaxShownLength)
                {
                    text = string.Concat(text.AsSpan(0, MaxShownLength), "...");
                }

                text = Diagnostics.LogText.Escape(text);

                return IsPlain(scalar) ? $"'{text}'" : $"the quoted string '{text}'";
            default:
                return "an alias";
        }
    }
}
