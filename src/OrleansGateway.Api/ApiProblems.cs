using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Reporting;

namespace OrleansGateway.Api;

/// <summary>The problem answers of docs/api.md ("Errors"): every one says what is wrong and what to do.</summary>
internal static class ApiProblems
{
    public static IResult BadRequest(string detail, ImmutableArray<DiagnosticReport>? diagnostics = null) =>
        Problem(400, "The request is not valid", detail, diagnostics);

    public static IResult NotFound(string detail) => Problem(404, "Not found", detail);

    public static IResult Conflict(string detail) => Problem(409, "Already exists", detail);

    public static IResult TooLarge(long limit) =>
        Problem(413, "Body too large", $"the body is larger than {limit} bytes ({limit / 1024 / 1024} MiB); split the resources over several requests");

    public static IResult UnsupportedType(string? given, IEnumerable<string> accepted) => Problem(
        415,
        "Unsupported Content-Type",
        $"Content-Type '{given ?? "(none)"}' is not accepted here; send one of: {string.Join(", ", accepted)}");

    public static IResult Refused(string detail, ImmutableArray<DiagnosticReport> diagnostics) =>
        Problem(422, "The change was refused; nothing was persisted", detail, diagnostics);

    public static IResult Unavailable(string detail) => Problem(503, "The cluster cannot be reached", detail);

    /// <summary>
    /// The grain storage failed: a tenant's stored resources and version change only with the change's last write, and a
    /// change cut short is undone before the tenant's next one (docs/control-plane.md), so the change was not stored.
    /// </summary>
    public static IResult StorageUnavailable() => Problem(
        503,
        "The gateway's storage cannot be reached",
        "the gateway's storage did not answer, so the change was not stored: the tenant's resources stay as they were " +
        "(any part of the change already sent out is undone before its next change); try again, and check the storage account if it persists");

    public static IResult Problem(int status, string title, string detail, ImmutableArray<DiagnosticReport>? diagnostics = null) =>
        Results.Json(
            new ProblemDto($"https://www.rfc-editor.org/rfc/rfc9110#status.{status}", title, status, detail, diagnostics),
            ApiJson.Answers,
            ApiJson.ProblemContentType,
            status);

    /// <summary>Diagnostics one answer carries; a bad request of thousands of resources must not get a huge answer.</summary>
    public const int MaxDiagnostics = 100;

    /// <summary>
    /// In the shape of <c>ogw check --output json</c>'s diagnostics: the first <see cref="MaxDiagnostics"/>, then one
    /// <c>diagnostics.truncated</c> that counts the rest.
    /// </summary>
    public static ImmutableArray<DiagnosticReport> Reports(IEnumerable<Diagnostic> diagnostics)
    {
        var all = diagnostics.ToList();
        var shown = all.Take(MaxDiagnostics).Select(GatewayReport.Diagnostic);
        if (all.Count <= MaxDiagnostics)
        {
            return [.. shown];
        }

        var rest = new Diagnostic(Severity.Info, DiagnosticCodes.DiagnosticsTruncated,
            $"{all.Count - MaxDiagnostics} more diagnostic(s) are not shown (an answer carries {MaxDiagnostics}); fix these and send again, " +
            "or run 'ogw check' on the files to see them all");
        return [.. shown, GatewayReport.Diagnostic(rest)];
    }
}
