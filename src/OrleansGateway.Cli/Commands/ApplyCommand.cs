using System.CommandLine;
using System.Text.Json;
using OrleansGateway.Cli.Client;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw apply -f FILE|DIR [--dry-run]</c>: create or replace resources in one atomic change.</summary>
internal static class ApplyCommand
{
    public static Command Create(ClientContext context)
    {
        var file = new Option<string>("--filename", "-f")
        {
            Description = "A resource file, or a directory of them (.yaml, .yml, .json; recursively; dot-names skipped).",
            Required = true,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check what the apply would do; change nothing." };
        var command = new Command(
            "apply",
            "Create or replace resources (by kind, namespace and name) in the tenant, all or nothing: if any would be "
            + "Discarded or a quota refuses them, nothing changes and each problem is listed with its file and line.")
        {
            file,
            dryRun,
        };
        ClientSession.Bind(command, "ogw apply", context, tenantScoped: true, async (session, result, cancellationToken) =>
        {
            // The files first: a typo in the path fails fast, before any request.
            var files = ResourceFiles.Read(result.GetValue(file)!);
            var tenant = await session.TenantAsync(cancellationToken);
            var query = result.GetValue(dryRun) ? "?dryRun=true" : "";
            var response = await session.CallAsync(
                HttpMethod.Post, $"api/v1/tenants/{Views.Segment(tenant)}/resources{query}", ResourceFiles.Body(files), cancellationToken);
            session.Print(response, outcome => WriteOutcome(outcome, tenant, session.Output));
            return ClientExitCodes.Ok;
        });
        return command;
    }

    /// <summary>An <c>Outcome</c> for people: the resources, the diagnostics that did not refuse it, and what changed.</summary>
    public static void WriteOutcome(JsonElement outcome, string tenant, TextWriter output)
    {
        TextReport.WriteResources(Views.Resources(Views.Array(outcome, "resources")), output);
        var diagnostics = Views.Array(outcome, "diagnostics").ToList();
        if (diagnostics.Count > 0)
        {
            output.WriteLine();
            foreach (var diagnostic in diagnostics)
            {
                var report = diagnostic.Deserialize<OrleansGateway.Reporting.DiagnosticReport>(ApiJson.Options);
                if (report is not null)
                {
                    output.WriteLine($"  {DiagnosticText.Line(report)}");
                }
            }
        }

        output.WriteLine();
        var version = Views.Value(outcome, "version");
        output.WriteLine(Views.Object(outcome, "dryRun").ValueKind == JsonValueKind.True
            ? $"Dry run: nothing changed in tenant '{tenant}' (it would become version {version})."
            : $"Tenant '{tenant}' is now at version {version}.");
    }
}
