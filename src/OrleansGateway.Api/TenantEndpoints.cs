using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Api;

/// <summary>Tenants and their keys (admin only): docs/api.md "Tenants (admin)".</summary>
internal static class TenantEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var tenants = api.MapGroup("/tenants").RequireAuthorization(ApiPolicies.Admin).WithTags("tenants (admin)");
        tenants.MapGet("", ListAsync).WithName("ListTenants").Produces<ImmutableArray<TenantDto>>();
        tenants.MapPost("", CreateAsync).WithName("CreateTenant").Body<CreateTenantRequest>(ApiBody.Json)
            .Produces<TenantDto>(StatusCodes.Status201Created).ProducesProblem(400).ProducesProblem(409).ProducesProblem(503);
        tenants.MapGet("/{tenant}", GetAsync).WithName("GetTenant").Produces<TenantDto>().ProducesProblem(404);
        tenants.MapPut("/{tenant}", UpdateAsync).WithName("UpdateTenant").Body<UpdateTenantRequest>(ApiBody.Json)
            .Produces<TenantDto>().ProducesProblem(400).ProducesProblem(404);
        tenants.MapDelete("/{tenant}", DeleteAsync).WithName("DeleteTenant").Produces(StatusCodes.Status204NoContent).ProducesProblem(404).ProducesProblem(503);
        tenants.MapGet("/{tenant}/keys", ListKeysAsync).WithName("ListKeys").Produces<ImmutableArray<KeyDto>>().ProducesProblem(404);
        tenants.MapPost("/{tenant}/keys", IssueKeyAsync).WithName("IssueKey").Body<IssueKeyRequest>(ApiBody.Json)
            .Produces<IssuedKeyDto>(StatusCodes.Status201Created).ProducesProblem(404);
        tenants.MapDelete("/{tenant}/keys/{keyId}", RevokeKeyAsync).WithName("RevokeKey").Produces(StatusCodes.Status204NoContent).ProducesProblem(404);
    }

    private static async Task<IResult> ListAsync(IGrainFactory grains)
    {
        var entries = await grains.GetTenantRegistry().ListAsync();
        var views = await Task.WhenAll(entries.Select(e => ViewAsync(grains, e)));
        return Results.Json(views, ApiJson.Answers);
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadJsonAsync<CreateTenantRequest>(request, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var name = body.Value!.Name;
        // DNS labels, as docs/api.md says: they appear in tokens, grain keys and URLs.
        if (name is null || !ResourceNames.IsDnsLabel(name))
        {
            return ApiProblems.BadRequest(
                $"\"name\" {(name is null ? "is missing" : $"'{name}' is not a tenant name")}: give a DNS label (lowercase letters, digits and '-', " +
                "at most 63 characters, starting and ending with a letter or digit), e.g. \"acme\"");
        }

        var quota = ResourceViews.ParseQuota(body.Value.Quota, out var problem);
        if (quota is null)
        {
            return ApiProblems.BadRequest(problem!);
        }

        if (!await grains.GetTenantRegistry().CreateAsync(name))
        {
            return ApiProblems.Conflict($"tenant '{name}' exists; change it with PUT /api/v1/tenants/{name}, or pick another name");
        }

        string? leftovers;
        try
        {
            leftovers = await StartCleanAsync(grains, name, quota);
        }
        catch
        {
            // Without its quota (or with leftovers) the tenant must not exist: a retry of the create then succeeds.
            await grains.GetTenantRegistry().RemoveAsync(name);
            throw;
        }

        if (leftovers is not null)
        {
            await grains.GetTenantRegistry().RemoveAsync(name);
            return ApiProblems.Problem(503, "Key Vault is not available",
                $"tenant '{name}' was not created: certificates of an earlier tenant of that name may be left in Key Vault and could not be " +
                $"removed ({leftovers}); create it again once the vault answers");
        }

        var entry = await grains.GetTenantRegistry().GetAsync(name);
        request.HttpContext.Response.Headers.Location = $"/api/v1/tenants/{name}";
        return Results.Json(await ViewAsync(grains, entry!), ApiJson.Answers, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> GetAsync(string tenant, IGrainFactory grains)
    {
        var entry = await grains.GetTenantRegistry().GetAsync(tenant);
        return entry is null ? NoTenant(tenant) : Results.Json(await ViewAsync(grains, entry), ApiJson.Answers);
    }

    private static async Task<IResult> UpdateAsync(string tenant, HttpRequest request, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadJsonAsync<UpdateTenantRequest>(request, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        if (body.Value!.Quota is null)
        {
            return ApiProblems.BadRequest("\"quota\" is missing; send {\"quota\": {...}} with the whole new quota: a list that is absent grants nothing " +
                "({} grants nothing at all), a list that is null is unlimited");
        }

        var quota = ResourceViews.ParseQuota(body.Value.Quota, out var problem);
        if (quota is null)
        {
            return ApiProblems.BadRequest(problem!);
        }

        var entry = await grains.GetTenantRegistry().GetAsync(tenant);
        if (entry is null)
        {
            return NoTenant(tenant);
        }

        await grains.GetTenantGrain(tenant).SetQuotaAsync(quota);
        return Results.Json(await ViewAsync(grains, entry), ApiJson.Answers);
    }

    /// <summary>
    /// Keys first, so no tenant request can start after that point (authentication and every resource endpoint ask
    /// the registry and the keys grain); then the deny-all quota, so that a request already past those checks (an
    /// apply in flight) can store nothing from here on, whenever it reaches the tenant grain; then resources (releasing
    /// the listener claims; an apply that reached the grain before the quota changed is deleted with them), its
    /// certificates in Key Vault (deleted and purged) and the registry entry. The grain keeps the deny-all quota: a
    /// deleted tenant is never left unlimited (docs/api.md). If the vault cannot purge, the tenant stays listed (without
    /// keys or resources) and the delete can be sent again: its name is not free before its certificates are gone.
    /// </summary>
    private static async Task<IResult> DeleteAsync(string tenant, IGrainFactory grains)
    {
        if (await grains.GetTenantRegistry().GetAsync(tenant) is null)
        {
            return NoTenant(tenant);
        }

        await grains.GetTenantKeysGrain(tenant).RemoveAllAsync();
        var grain = grains.GetTenantGrain(tenant);
        await grain.SetQuotaAsync(TenantQuota.DenyAll);
        await DeleteResourcesAsync(grain);
        if (await grain.PurgeCertificatesAsync() is { } problem)
        {
            return ApiProblems.Problem(503, "Key Vault is not available",
                $"tenant '{tenant}' is not deleted yet: its keys are revoked and its resources deleted, but its certificates could not be " +
                $"removed from Key Vault ({problem}); send the delete again once the vault answers");
        }

        await grains.GetTenantRegistry().RemoveAsync(tenant);
        return Results.NoContent();
    }

    /// <summary>
    /// A new tenant starts clean: the tenant grain of an unregistered name may still hold resources or keys of an
    /// earlier tenant (a delete that failed half way), and Key Vault certificates under its name (a late apply of the
    /// deleted tenant); they are removed before the quota of the request is set. Returns why the vault could not be
    /// cleaned (the tenant must then not be created), or null.
    /// </summary>
    private static async Task<string?> StartCleanAsync(IGrainFactory grains, string tenant, TenantQuota quota)
    {
        var keys = grains.GetTenantKeysGrain(tenant);
        if (!(await keys.ListAsync()).IsEmpty)
        {
            await keys.RemoveAllAsync();
        }

        var grain = grains.GetTenantGrain(tenant);
        await DeleteResourcesAsync(grain);
        if (await grain.PurgeCertificatesAsync() is { } problem)
        {
            return problem;
        }

        await grain.SetQuotaAsync(quota);
        return null;
    }

    private static async Task DeleteResourcesAsync(ITenantGrain grain)
    {
        var view = await grain.GetAsync();
        if (!view.Resources.IsEmpty)
        {
            // PerResource: removing every resource cannot leave one Discarded, and a delete must not be refused.
            await grain.DeleteAsync(new DeleteRequest([.. view.Resources.Select(r => r.Resource.Ref)], ApplyMode.PerResource));
        }
    }

    private static async Task<IResult> ListKeysAsync(string tenant, IGrainFactory grains)
    {
        if (await grains.GetTenantRegistry().GetAsync(tenant) is null)
        {
            return NoTenant(tenant);
        }

        var keys = await grains.GetTenantKeysGrain(tenant).ListAsync();
        return Results.Json(keys.Select(k => new KeyDto(k.Id, k.Description, k.CreatedAt)), ApiJson.Answers);
    }

    private static async Task<IResult> IssueKeyAsync(string tenant, HttpRequest request, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadJsonAsync(request, cancellationToken, optional: true, empty: new IssueKeyRequest(null));
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        if (await grains.GetTenantRegistry().GetAsync(tenant) is null)
        {
            return NoTenant(tenant);
        }

        if (!ResourceNames.IsDnsLabel(tenant))
        {
            // A tenant registered by the config directory may have any name; a token names its tenant as a DNS label.
            return ApiProblems.BadRequest($"tenant '{tenant}' is not a DNS label, so it cannot have API keys; manage it through the config directory, or create a tenant with a DNS label name");
        }

        var issued = await grains.GetTenantKeysGrain(tenant).IssueAsync(body.Value!.Description);
        var dto = new IssuedKeyDto(issued.Key.Id, issued.Key.Description, issued.Key.CreatedAt, issued.Token);
        return Results.Json(dto, ApiJson.Answers, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> RevokeKeyAsync(string tenant, string keyId, IGrainFactory grains)
    {
        if (await grains.GetTenantRegistry().GetAsync(tenant) is null)
        {
            return NoTenant(tenant);
        }

        return await grains.GetTenantKeysGrain(tenant).RevokeAsync(keyId)
            ? Results.NoContent()
            : ApiProblems.NotFound($"tenant '{tenant}' has no key '{keyId}'; list them with GET /api/v1/tenants/{tenant}/keys");
    }

    public static IResult NoTenant(string tenant) =>
        ApiProblems.NotFound($"there is no tenant '{tenant}'; list them with GET /api/v1/tenants, create it with POST /api/v1/tenants");

    private static async Task<TenantDto> ViewAsync(IGrainFactory grains, TenantEntry entry)
    {
        var view = grains.GetTenantGrain(entry.Name).GetAsync();
        var keys = grains.GetTenantKeysGrain(entry.Name).ListAsync();
        var tenant = await view;
        return new TenantDto(entry.Name, ResourceViews.Quota(tenant.Quota), tenant.Version, tenant.Resources.Length, (await keys).Length, entry.CreatedAt);
    }
}
