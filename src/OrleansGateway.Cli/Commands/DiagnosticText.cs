using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Commands;

/// <summary>One diagnostic as a line of text, the same for <c>ogw check</c> and a refused <c>ogw apply</c>.</summary>
internal static class DiagnosticText
{
    /// <summary><c>error: file: document N (line L): Kind 'name' (namespace ns): field: message</c>, leaving out what is unknown.</summary>
    /// <remarks>
    /// The model's <c>Diagnostic.ToString</c> form. A compiler message already starts with its resource and field
    /// (<c>TCPMapping 'b' (namespace default) discarded: spec.port: ...</c>); those are not said twice.
    /// </remarks>
    public static string Line(DiagnosticReport d)
    {
        var resource = Resource(d.Resource);
        var what = resource.Length > 0 && d.Message.StartsWith(resource[..^2], StringComparison.Ordinal)
            ? ""
            : $"{resource}{(d.Field is null ? "" : $"{d.Field}: ")}";
        return $"{d.Severity}: {Where(d)}{what}{d.Message}";
    }

    /// <summary><c>file: document N (line L): </c>, <c>file: </c> or nothing.</summary>
    public static string Where(DiagnosticReport d) =>
        d.File is null ? "" : d.Document is null ? $"{d.File}: " : $"{d.File}: document {d.Document} (line {d.Line}): ";

    /// <summary><c>Kind ns/name</c> (<see cref="GatewayReport.Describe"/>) as <c>Kind 'name' (namespace ns): </c>.</summary>
    private static string Resource(string? described)
    {
        if (described is null)
        {
            return "";
        }

        var space = described.IndexOf(' ', StringComparison.Ordinal);
        var slash = described.IndexOf('/', StringComparison.Ordinal);
        return space > 0 && slash > space
            ? $"{described[..space]} '{described[(slash + 1)..]}' (namespace {described[(space + 1)..slash]}): "
            : $"{described}: ";
    }
}
