using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Reads typed values out of one resource's nodes and collects what is wrong with them. Every read returns
/// <c>null</c> for an absent/null value or a value of the wrong type (the latter also records an error), so
/// a reader can go on and report every problem of the resource at once.
/// </summary>
internal sealed class FieldReader(DocumentContext document, ResourceRef resource)
{
    private ImmutableArray<Diagnostic>.Builder? errors;

    public DocumentContext Document { get; } = document;
    public ResourceRef Resource { get; } = resource;

    public bool HasErrors => errors is { Count: > 0 };

    public ImmutableArray<Diagnostic> Errors => errors?.ToImmutable() ?? [];

    /// <summary>Whether <paramref name="field"/> already has an error (so "is required" is not added on top of "wrong type").</summary>
    public bool HasErrorOn(string field)
    {
        if (errors is null)
        {
            return false;
        }

        foreach (var error in errors)
        {
            if (error.Field == field)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Records an error on the resource (it becomes an <see cref="InvalidResource"/>).</summary>
    public void Error(string code, YamlNode at, string field, string message)
    {
        var diagnostic = new Diagnostic(Severity.Error, code, message, Resource, Document.At(at), field);
        (errors ??= ImmutableArray.CreateBuilder<Diagnostic>()).Add(diagnostic);
        Document.Output.Add(diagnostic);
    }

    /// <summary>Records a warning or note; the resource still loads.</summary>
    public void Note(Severity severity, string code, YamlNode at, string field, string message) =>
        Document.Output.Add(new Diagnostic(severity, code, message, Resource, Document.At(at), field));

    public void TypeError(YamlNode at, string field, string expected) =>
        Error(DiagnosticCodes.FieldType, at, field, $"expected {expected}, found {YamlValues.Describe(at)}");

    public void Required(YamlNode at, string field) =>
        Error(DiagnosticCodes.FieldRequired, at, field, $"{field} is required");

    public void Unknown(YamlNode at, string field, string? hint = null)
    {
        // YamlDotNet's merge support cannot override merged keys, so `<<` stays an ordinary (unknown) key.
        if (field.EndsWith("<<", StringComparison.Ordinal))
        {
            hint = "YAML merge keys (<<) are not supported; write the fields out";
        }

        Note(Severity.Warning, DiagnosticCodes.FieldUnknown, at, field,
            hint is null ? $"unknown field {field}; ignored (check the spelling)" : $"unknown field {field}; ignored: {hint}");
    }

    /// <summary>The key of a mapping entry: always a scalar, <see cref="BoundedYamlParser"/> refuses any other.</summary>
    public static string Key(YamlNode key) => ((YamlScalarNode)key).Value ?? "";

    public string? String(YamlNode node, string field)
    {
        if (YamlValues.IsNull(node))
        {
            return null;
        }

        // Numbers are accepted as text (a hostname or name can look like one); a plain true/false is almost
        // always a misunderstanding of the field (e.g. v2's `tls: true` in a v3alpha1 TCPMapping).
        if (node is YamlScalarNode scalar && !YamlValues.TryBoolean(scalar, out _))
        {
            return scalar.Value ?? "";
        }

        TypeError(node, field, "a string");
        return null;
    }

    public bool? Boolean(YamlNode node, string field)
    {
        if (YamlValues.IsNull(node))
        {
            return null;
        }

        if (node is YamlScalarNode scalar && YamlValues.TryLenientBoolean(scalar, out var value))
        {
            return value;
        }

        TypeError(node, field, "true or false");
        return null;
    }

    /// <summary>An integer in <paramref name="min"/>..<paramref name="max"/>; with <paramref name="numericString"/>, "2222" counts too.</summary>
    public long? Integer(YamlNode node, string field, long min, long max, bool numericString = false)
    {
        if (YamlValues.IsNull(node))
        {
            return null;
        }

        var expected = max == long.MaxValue || max == int.MaxValue ? $"an integer >= {min}" : $"an integer {min}..{max}";
        if (node is not YamlScalarNode scalar || !(YamlValues.IsPlain(scalar) || numericString) ||
            !YamlValues.TryInteger(scalar.Value, out var value))
        {
            var quotedNumber = node is YamlScalarNode s && !YamlValues.IsPlain(s) && YamlValues.TryInteger(s.Value, out _);
            Error(DiagnosticCodes.FieldType, node, field,
                $"expected {expected}, found {YamlValues.Describe(node)}{(quotedNumber ? " (write the number without quotes)" : "")}");
            return null;
        }

        if (value < min || value > max)
        {
            Error(DiagnosticCodes.FieldRange, node, field, $"expected {expected}, found {value}");
            return null;
        }

        return value;
    }

    public int? Int32(YamlNode node, string field, int min, int max = int.MaxValue, bool numericString = false) =>
        (int?)Integer(node, field, min, max, numericString);

    public YamlMappingNode? Mapping(YamlNode node, string field)
    {
        if (YamlValues.IsNull(node))
        {
            return null;
        }

        if (node is YamlMappingNode mapping)
        {
            return mapping;
        }

        TypeError(node, field, "a mapping");
        return null;
    }

    /// <summary>A list of strings; an element of the wrong type is an error at <c>field[i]</c>.</summary>
    public ImmutableArray<string>? StringList(YamlNode node, string field)
    {
        if (YamlValues.IsNull(node))
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            TypeError(node, field, "a list of strings");
            return null;
        }

        var items = ImmutableArray.CreateBuilder<string>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            if (item is YamlScalarNode scalar && !YamlValues.IsNull(scalar) && !YamlValues.TryBoolean(scalar, out _))
            {
                items.Add(scalar.Value ?? "");
            }
            else
            {
                TypeError(item, $"{field}[{i}]", "a string");
            }
        }

        return items.DrainToImmutable();
    }

    /// <summary>Emissary's <c>alpn_protocols</c> is a comma-separated string; a list is accepted too. Items are trimmed.</summary>
    public ImmutableArray<string>? CommaList(YamlNode node, string field)
    {
        if (node is YamlSequenceNode)
        {
            return StringList(node, field)?.Select(s => s.Trim()).Where(s => s.Length > 0).ToImmutableArray();
        }

        var text = String(node, field);
        return text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToImmutableArray();
    }

    /// <summary>A string-to-string map such as <c>metadata.labels</c>; scalar values are taken as text.</summary>
    public ImmutableDictionary<string, string>? StringMap(YamlNode node, string field)
    {
        var mapping = Mapping(node, field);
        if (mapping is null)
        {
            return null;
        }

        var map = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = Key(keyNode);
            if (value is YamlScalarNode scalar)
            {
                map[key] = YamlValues.IsNull(scalar) ? "" : scalar.Value ?? "";
            }
            else
            {
                TypeError(value, $"{field}.{key}", "a string");
            }
        }

        return map.ToImmutable();
    }
}
