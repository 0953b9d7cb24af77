using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Api;

/// <summary>A tenant's resources (its own key or the admin key): docs/api.md "Resources and status".</summary>
internal static class ResourceEndpoints
{
    /// <summary>The <see cref="ApplyRequest.Source"/> of the API.</summary>
    public const string Source = "api";

    public static void Map(RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenant}").RequireAuthorization(ApiPolicies.Tenant).WithTags("resources (tenant)");
        tenant.MapPost("/resources", ApplyAsync).WithName("ApplyResources")
            .Body<string>([.. ApiBody.ApplyTypes])
            .Produces<OutcomeDto>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422).ProducesProblem(503);
        tenant.MapGet("/resources", ListAsync).WithName("ListResources").Produces<ImmutableArray<ResourceViewDto>>().ProducesProblem(404);
        tenant.MapGet("/resources/{kind}/{namespace}/{name}", GetAsync).WithName("GetResource").Produces<ResourceViewDto>().ProducesProblem(404);
        tenant.MapDelete("/resources/{kind}/{namespace}/{name}", DeleteOneAsync).WithName("DeleteResource")
            .Produces<OutcomeDto>().ProducesProblem(404).ProducesProblem(422);
        tenant.MapPost("/resources/delete", DeleteManyAsync).WithName("DeleteResources").Body<DeleteResourcesRequest>(ApiBody.Json)
            .Produces<OutcomeDto>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(422);
        tenant.MapGet("/status", TenantStatus.GetAsync).WithName("TenantStatus").Produces<TenantStatusDto>().ProducesProblem(404);
    }

    /// <summary>
    /// The registry answers for the admin and for tenant keys alike (one call to one activation): a request of a
    /// tenant key that was checked just before its tenant's delete must not store resources after the delete.
    /// </summary>
    public static async Task<bool> ExistsAsync(string tenant, IGrainFactory grains) =>
        await grains.GetTenantRegistry().GetAsync(tenant) is not null;

    private static async Task<IResult> ApplyAsync(
        string tenant, bool? dryRun, HttpContext context, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var files = await ApiBody.ReadApplyFilesAsync(context.Request, cancellationToken);
        if (files.Problem is not null)
        {
            return files.Problem;
        }

        var (resources, problem) = ApiBody.Load(files.Value);
        if (problem is not null)
        {
            return problem;
        }

        if (!await ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        var grain = grains.GetTenantGrain(tenant);
        var outcome = await grain.ApplyAsync(new ApplyRequest(resources, ApplyMode.Strict, Source, dryRun == true));
        var sent = resources.Select(r => r.Ref).ToHashSet();
        var stored = (await grain.GetAsync()).Resources.ToDictionary(r => r.Resource.Ref, r => r.Source);
        return Answer(outcome, dryRun == true, r => sent.Contains(r) ? Source : stored.GetValueOrDefault(r, Source));
    }

    private static async Task<IResult> ListAsync(string tenant, string? kind, IGrainFactory grains)
    {
        if (!await ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        var view = await grains.GetTenantGrain(tenant).GetAsync();
        var list = view.Resources
            .Where(r => kind is null || string.Equals(r.Resource.Kind, kind, StringComparison.OrdinalIgnoreCase))
            .Select(r => ResourceViews.View(r, withResource: false));
        return Results.Json(list, ApiJson.Answers);
    }

    private static async Task<IResult> GetAsync(string tenant, string kind, string @namespace, string name, IGrainFactory grains)
    {
        var found = await FindAsync(tenant, kind, @namespace, name, grains);
        return found.Problem ?? Results.Json(ResourceViews.View(found.Resource!, withResource: true), ApiJson.Answers);
    }

    private static async Task<IResult> DeleteOneAsync(
        string tenant, string kind, string @namespace, string name, bool? dryRun, IGrainFactory grains)
    {
        var found = await FindAsync(tenant, kind, @namespace, name, grains);
        if (found.Problem is not null)
        {
            return found.Problem;
        }

        return await DeleteAsync(tenant, [found.Resource!.Resource.Ref], dryRun == true, grains, []);
    }

    private static async Task<IResult> DeleteManyAsync(
        string tenant, bool? dryRun, HttpContext context, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadJsonAsync<DeleteResourcesRequest>(context.Request, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        if (body.Value!.Resources is not { IsEmpty: false } items)
        {
            return ApiProblems.BadRequest("\"resources\" is missing or empty; send {\"resources\": [{\"kind\": \"TCPMapping\", \"namespace\": \"default\", \"name\": \"db\"}]}");
        }

        for (var i = 0; i < items.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(items[i].Kind) || string.IsNullOrWhiteSpace(items[i].Name))
            {
                return ApiProblems.BadRequest($"resources[{i}] needs \"kind\" and \"name\" (\"namespace\" defaults to \"default\")");
            }
        }

        if (!await ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        var stored = (await grains.GetTenantGrain(tenant).GetAsync()).Resources.Select(r => r.Resource.Ref).ToList();
        var targets = new List<ResourceRef>();
        var absent = new List<Diagnostic>();
        foreach (var item in items)
        {
            var match = stored.FirstOrDefault(r => Matches(r, item.Kind!, item.Namespace ?? "default", item.Name!));
            if (match is null)
            {
                var wanted = new ResourceRef(item.Kind!, item.Namespace ?? "default", item.Name!);
                absent.Add(new Diagnostic(Severity.Info, DiagnosticCodes.ResourceAbsent, $"{wanted} does not exist; nothing to delete", wanted));
            }
            else
            {
                targets.Add(match);
            }
        }

        return await DeleteAsync(tenant, [.. targets.Distinct()], dryRun == true, grains, absent);
    }

    private static async Task<IResult> DeleteAsync(string tenant, ImmutableArray<ResourceRef> targets, bool dryRun, IGrainFactory grains, List<Diagnostic> notes)
    {
        var grain = grains.GetTenantGrain(tenant);
        var sources = (await grain.GetAsync()).Resources.ToDictionary(r => r.Resource.Ref, r => r.Source);
        var outcome = await grain.DeleteAsync(new DeleteRequest(targets, ApplyMode.Strict, dryRun));
        outcome = outcome with { Diagnostics = [.. notes, .. outcome.Diagnostics] };
        return Answer(outcome, dryRun, r => sources.GetValueOrDefault(r, Source));
    }

    private static IResult Answer(ApplyOutcome outcome, bool dryRun, Func<ResourceRef, string> sourceOf)
    {
        if (outcome.Accepted)
        {
            return Results.Json(ResourceViews.Outcome(outcome, dryRun, sourceOf), ApiJson.Answers);
        }

        var errors = outcome.Diagnostics.Where(d => d.Severity == Severity.Error).ToList();
        if (errors.Any(d => d.Code == DiagnosticCodes.SecretStoreUnavailable))
        {
            // Not the request's fault: the vault that keeps Secret keys did not take one. Sending it again succeeds.
            return ApiProblems.Problem(503, "Key Vault is not available",
                "the certificate source (Key Vault) could not store the key of a Secret of this change, so nothing was persisted; " +
                "send it again once the vault answers (the diagnostics name the Secret and the vault's answer)",
                ApiProblems.Reports(errors.Where(d => d.Code == DiagnosticCodes.SecretStoreUnavailable)));
        }

        var discarded = outcome.Statuses.Where(s => s.State == ResourceState.Discarded).Select(s => GatewayReportName(s.Resource)).ToList();
        return ApiProblems.Refused(
            $"the change would leave {discarded.Count} resource(s) Discarded ({string.Join(", ", discarded.Take(5))}{(discarded.Count > 5 ? ", ..." : "")}); " +
            "the API applies all or nothing, so nothing was persisted. Fix what the diagnostics name and send again",
            ApiProblems.Reports(errors.Count > 0 ? errors : outcome.Diagnostics));
    }

    private static string GatewayReportName(ResourceRef r) => Reporting.GatewayReport.Describe(r);

    private static async Task<(TenantResource? Resource, IResult? Problem)> FindAsync(
        string tenant, string kind, string @namespace, string name, IGrainFactory grains)
    {
        if (!await ExistsAsync(tenant, grains))
        {
            return (null, TenantEndpoints.NoTenant(tenant));
        }

        var view = await grains.GetTenantGrain(tenant).GetAsync();
        var found = view.Resources.FirstOrDefault(r => Matches(r.Resource.Ref, kind, @namespace, name));
        return found is null
            ? (null, ApiProblems.NotFound($"tenant '{tenant}' has no {kind} '{name}' in namespace '{@namespace}'; list them with GET /api/v1/tenants/{tenant}/resources"))
            : (found, null);
    }

    /// <summary>Kinds in paths and delete bodies are case-insensitive; namespaces and names are not.</summary>
    private static bool Matches(ResourceRef r, string kind, string @namespace, string name) =>
        string.Equals(r.Kind, kind, StringComparison.OrdinalIgnoreCase) && r.Namespace == @namespace && r.Name == name;
}
