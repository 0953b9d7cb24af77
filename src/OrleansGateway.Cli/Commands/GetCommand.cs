using System.CommandLine;
using System.Text.Json;
using OrleansGateway.Cli.Client;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw get [KIND [NAME]] [-n NAMESPACE]</c>: the tenant's resources and their statuses.</summary>
internal static class GetCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(ClientContext context)
    {
        var kind = new Argument<string?>("KIND") { Description = "Only this kind (TCPMapping, Host, TLSContext, Secret, ...; any case).", Arity = ArgumentArity.ZeroOrOne };
        var name = new Argument<string?>("NAME") { Description = "Only this resource, shown with its spec.", Arity = ArgumentArity.ZeroOrOne };
        var @namespace = new Option<string?>("--namespace", "-n")
        {
            Description = "Namespace of NAME (default: default); without NAME, list only this namespace.",
        };
        var command = new Command("get", "List the tenant's resources with their status (Accepted, Discarded, Ignored) and why.")
        {
            kind,
            name,
            @namespace,
        };
        ClientSession.Bind(command, "ogw get", context, tenantScoped: true, async (session, result, cancellationToken) =>
        {
            var tenant = Views.Segment(await session.TenantAsync(cancellationToken));
            var kindValue = result.GetValue(kind);
            var nameValue = result.GetValue(name);
            var namespaceValue = result.GetValue(@namespace);
            if (kindValue is not null && nameValue is not null)
            {
                var path = $"api/v1/tenants/{tenant}/resources/{Views.Segment(kindValue)}/{Views.Segment(namespaceValue ?? "default")}/{Views.Segment(nameValue)}";
                session.Print(await session.CallAsync(HttpMethod.Get, path, cancellationToken), view => WriteOne(view, session.Output));
                return ClientExitCodes.Ok;
            }

            var query = kindValue is null ? "" : $"?kind={Views.Segment(kindValue)}";
            var response = await session.CallAsync(HttpMethod.Get, $"api/v1/tenants/{tenant}/resources{query}", cancellationToken);
            if (namespaceValue is not null && response.Json() is { ValueKind: JsonValueKind.Array } all)
            {
                // The API lists every namespace; the filter keeps the elements as they came.
                var kept = all.EnumerateArray().Where(v => Views.String(v, "namespace") == namespaceValue).ToList();
                response = response with { Body = JsonSerializer.Serialize(kept, Indented) };
            }

            session.Print(response, views => TextReport.WriteResources(Views.Resources(views.EnumerateArray()), session.Output));
            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static void WriteOne(JsonElement view, TextWriter output)
    {
        TextReport.WriteResources([Views.Resource(view)], output);
        output.WriteLine($"source: {Views.Value(view, "source")}");
        var spec = Views.Object(view, "resource");
        if (spec.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
        {
            output.WriteLine("resource:");
            using var indented = new StringWriter();
            YamlWriter.Write(spec, indented);
            foreach (var line in indented.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                output.WriteLine($"  {line.TrimEnd('\r')}");
            }
        }
    }
}
