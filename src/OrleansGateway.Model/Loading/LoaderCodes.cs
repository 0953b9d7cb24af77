using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Stable codes of the loader's diagnostics. Tools and tests match on these, so they never change meaning;
/// new situations get new codes.
/// </summary>
public static class LoaderCodes
{
    /// <summary>A document is not valid YAML/JSON (Error).</summary>
    public const string YamlSyntax = "yaml.syntax";

    /// <summary>A document (or list item) is a scalar or list where a resource mapping was expected (Error).</summary>
    public const string DocumentNotMapping = "document.not-mapping";

    public const string KindMissing = "document.kind-missing";
    public const string ApiVersionMissing = "document.api-version-missing";
    public const string NameMissing = "document.name-missing";

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
}
