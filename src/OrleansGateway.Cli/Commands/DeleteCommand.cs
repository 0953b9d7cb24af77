using System.CommandLine;
using OrleansGateway.Cli.Client;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw delete KIND NAME [-n NAMESPACE]</c> or <c>ogw delete -f FILE|DIR</c>: remove resources in one change.</summary>
internal static class DeleteCommand
{
    public static Command Create(ClientContext context)
    {
        var kind = new Argument<string?>("KIND") { Description = "Kind of the resource (any case).", Arity = ArgumentArity.ZeroOrOne };
        var name = new Argument<string?>("NAME") { Description = "Name of the resource.", Arity = ArgumentArity.ZeroOrOne };
        var @namespace = new Option<string?>("--namespace", "-n") { Description = "Namespace of NAME (default: default)." };
        var file = new Option<string?>("--filename", "-f")
        {
            Description = "Delete every resource this file, or directory of files, defines (as `ogw apply -f` reads it).",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check what the delete would do; change nothing." };
        var command = new Command("delete", "Delete resources of the tenant; their listeners are released when nothing else uses them.")
        {
            kind,
            name,
            @namespace,
            file,
            dryRun,
        };
        command.Validators.Add(result =>
        {
            var byName = result.GetValue(kind) is not null || result.GetValue(name) is not null;
            var byFile = result.GetValue(file) is not null;
            if (byName == byFile || (byName && (result.GetValue(kind) is null || result.GetValue(name) is null)))
            {
                result.AddError("give KIND and NAME, or -f FILE|DIR (not both)");
            }
        });
        ClientSession.Bind(command, "ogw delete", context, tenantScoped: true, async (session, result, cancellationToken) =>
        {
            // The files first: a typo in the path fails fast, before any request.
            var refs = result.GetValue(file) is { } path ? Refs(ResourceFiles.Read(path)) : null;
            var tenant = await session.TenantAsync(cancellationToken);
            var resources = $"api/v1/tenants/{Views.Segment(tenant)}/resources";
            var query = result.GetValue(dryRun) ? "?dryRun=true" : "";
            ApiResponse response;
            if (refs is not null)
            {
                var body = ClientSession.JsonBody(new { resources = refs.Select(r => new { kind = r.Kind, @namespace = r.Namespace, name = r.Name }) });
                response = await session.CallAsync(HttpMethod.Post, $"{resources}/delete{query}", body, cancellationToken);
            }
            else
            {
                var target = $"{Views.Segment(result.GetValue(kind)!)}/{Views.Segment(result.GetValue(@namespace) ?? "default")}/{Views.Segment(result.GetValue(name)!)}";
                response = await session.CallAsync(HttpMethod.Delete, $"{resources}/{target}{query}", cancellationToken);
            }

            session.Print(response, outcome => ApplyCommand.WriteOutcome(outcome, tenant, session.Output));
            return ClientExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Kind, namespace and name of every document the files define, once each, in file order.</summary>
    private static List<ResourceRef> Refs(IReadOnlyList<ResourceFile> files)
    {
        var refs = files.SelectMany(f => ResourceLoader.Parse(f.Content, f.Path).Resources).Select(r => r.Ref).Distinct().ToList();
        return refs.Count > 0
            ? refs
            : throw new ClientFailureException(ClientExitCodes.Refused, "the files define no resource with a kind and a name; nothing was deleted.");
    }
}
