using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Api;

/// <summary>Who a key is: the admin, or one key of one tenant.</summary>
internal static class ApiClaims
{
    public const string Role = "ogw:role";
    public const string Tenant = "ogw:tenant";
    public const string KeyId = "ogw:key";
    public const string Admin = "admin";
    public const string TenantRole = "tenant";

    public static bool IsAdmin(this ClaimsPrincipal user) => user.HasClaim(Role, Admin);

    /// <summary>The tenant of a tenant key; null for the admin or an anonymous caller.</summary>
    public static string? TenantOf(this ClaimsPrincipal user) => user.HasClaim(Role, TenantRole) ? user.FindFirstValue(Tenant) : null;
}

/// <summary>
/// Checks <c>Authorization: Bearer &lt;key&gt;</c> (and, on /dashboard only, HTTP Basic with the admin key as password):
/// the admin key by hash in constant time, a tenant token by asking that tenant's keys grain, every time (no cache,
/// so a revocation is effective at once on every silo; the grain answers checks concurrently, and each tenant has its
/// own, so no single activation sees every request). Keys are never logged.
/// </summary>
internal sealed class ApiKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiOptions settings,
    IGrainFactory grains,
    KnownTenants knownTenants) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ogw-key";

    private const string HowTo = "send 'Authorization: Bearer <key>' with the admin key or a tenant key (ogw.<tenant>.<keyId>.<secret>)";

    private bool IsDashboard => Request.Path.StartsWithSegments(ApiSetup.DashboardPath, StringComparison.OrdinalIgnoreCase);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Only the API and the dashboard use keys: /healthz, /readyz and /metrics never cost a grain call, whatever they are sent.
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !(IsDashboard || Request.Path.StartsWithSegments(ApiSetup.Prefix, StringComparison.OrdinalIgnoreCase)))
        {
            return AuthenticateResult.NoResult();
        }

        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim()
            : IsDashboard && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) ? BasicPassword(header[6..].Trim())
            : null;
        if (string.IsNullOrEmpty(key))
        {
            return AuthenticateResult.Fail($"the Authorization header is not of the form 'Bearer <key>'; {HowTo}");
        }

        if (settings.AdminKey?.Matches(key) == true)
        {
            return Success([new Claim(ApiClaims.Role, ApiClaims.Admin)]);
        }

        // The registry only for a tenant this process has not seen (KnownTenants): a well-formed token of an unknown
        // tenant activates nothing new, and the requests of known tenants do not all queue on the one registry activation.
        if (ApiToken.TryParse(key, out var tenant, out var keyId, out var secret)
            && await knownTenants.ExistsAsync(tenant)
            && await grains.GetTenantKeysGrain(tenant).VerifyAsync(keyId, SHA256.HashData(secret)))
        {
            return Success([new Claim(ApiClaims.Role, ApiClaims.TenantRole), new Claim(ApiClaims.Tenant, tenant), new Claim(ApiClaims.KeyId, keyId)]);
        }

        return AuthenticateResult.Fail("the key is not valid: unknown, revoked or mistyped. Ask the operator for a key (ogw tenants keys issue)");
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.Append("WWW-Authenticate", "Bearer");
        if (IsDashboard)
        {
            Response.Headers.Append("WWW-Authenticate", "Basic realm=\"ogw dashboard\", charset=\"UTF-8\"");
        }

        var result = await HandleAuthenticateOnceSafeAsync();
        var detail = result.Failure?.Message ?? $"no Authorization header; {HowTo}";
        if (settings.AdminKey is null && NeedsAdmin())
        {
            detail = "no admin key is configured on this gateway: start it with env OGW_ADMIN_KEY or --admin-key-file PATH " +
                "(at least 16 characters). " + detail;
        }

        await ApiProblems.Problem(401, "Authentication required", detail).ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiProblems.Problem(
            403,
            "Not allowed for this key",
            "this key does not reach this endpoint: a tenant key reaches only /api/v1/whoami and /api/v1/tenants/<its tenant>/ " +
            "(resources and status); tenants and keys are managed with the admin key").ExecuteAsync(Context);

    private bool NeedsAdmin() =>
        IsDashboard || Context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == ApiPolicies.Admin) == true;

    /// <summary>The password of <c>Basic base64(user:password)</c>; null when the value is not that.</summary>
    private static string? BasicPassword(string value)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(value));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : text[(colon + 1)..];
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private AuthenticateResult Success(Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
}

/// <summary>The authorization policies of the API: admin only, the route's tenant (or admin), any valid key.</summary>
public static class ApiPolicies
{
    public const string Admin = "ogw-admin";
    public const string Tenant = "ogw-tenant";
    public const string AnyKey = "ogw-any";

    public static void Add(AuthorizationOptions options)
    {
        options.AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireClaim(ApiClaims.Role, ApiClaims.Admin));
        options.AddPolicy(Tenant, p => p.RequireAuthenticatedUser().AddRequirements(new RouteTenantRequirement()));
        options.AddPolicy(AnyKey, p => p.RequireAuthenticatedUser());
    }
}

/// <summary>The caller is the admin, or holds a key of the tenant named by the route's <c>{tenant}</c>.</summary>
internal sealed class RouteTenantRequirement : AuthorizationHandler<RouteTenantRequirement>, IAuthorizationRequirement
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RouteTenantRequirement requirement)
    {
        var route = (context.Resource as HttpContext)?.GetRouteValue("tenant") as string;
        if (context.User.IsAdmin() || (route is not null && string.Equals(context.User.TenantOf(), route, StringComparison.Ordinal)))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
