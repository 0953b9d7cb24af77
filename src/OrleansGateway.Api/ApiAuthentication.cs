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

    /// <summary>The metrics token: /status and /metrics only.</summary>
    public const string MetricsRole = "metrics";

    public static bool IsAdmin(this ClaimsPrincipal user) => user.HasClaim(Role, Admin);

    /// <summary>The tenant of a tenant key; null for the admin or an anonymous caller.</summary>
    public static string? TenantOf(this ClaimsPrincipal user) => user.HasClaim(Role, TenantRole) ? user.FindFirstValue(Tenant) : null;
}

/// <summary>
/// Checks <c>Authorization: Bearer &lt;key&gt;</c> (and, on /dashboard only, HTTP Basic with the admin key as password,
/// over HTTPS or from loopback): the admin key and the metrics token by hash in constant time, a tenant token by asking
/// that tenant's keys grain, every time (no cache, so a revocation is effective at once on every silo; the grain answers checks concurrently,
/// and each tenant has its own, so no single activation sees every request). On /status and
/// /metrics only the admin key and the metrics token count, so they never cost a grain call. Keys are never logged.
/// </summary>
internal sealed class ApiKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiOptions settings,
    IGrainFactory grains,
    KnownTenants knownTenants) : AuthenticationHandler<AuthenticationSchemeOptions>(options, new FrameworkCategory(loggerFactory), encoder)
{
    public const string SchemeName = "ogw-key";

    private const string HowTo = "send 'Authorization: Bearer <key>' with the admin key or a tenant key (ogw.<tenant>.<keyId>.<secret>)";

    private const string MetricsHowTo = "send 'Authorization: Bearer <token>' with the metrics token (--metrics-token-file or env " +
        "OGW_METRICS_TOKEN of the gateway) or the admin key";

    private bool IsDashboard => Request.Path.StartsWithSegments(ApiSetup.DashboardPath, StringComparison.OrdinalIgnoreCase);

    private bool IsMetrics => ApiSetup.MetricsPaths.Any(p => Request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Only the API, the dashboard, /status and /metrics use keys: /healthz and /readyz never cost a grain call, whatever they are sent.
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !(IsDashboard || IsMetrics || Request.Path.StartsWithSegments(ApiSetup.Prefix, StringComparison.OrdinalIgnoreCase)))
        {
            return AuthenticateResult.NoResult();
        }

        var basic = IsDashboard && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim()
            : basic ? BasicPassword(header[6..].Trim())
            : null;
        if (string.IsNullOrEmpty(key))
        {
            return AuthenticateResult.Fail($"the Authorization header is not of the form 'Bearer <key>'; {(IsMetrics ? MetricsHowTo : HowTo)}");
        }

        // A browser's Basic credentials are the admin key in clear text: only where nobody can read them on the way.
        if (basic && !Request.IsHttps && !IsLoopback(Context.Connection.RemoteIpAddress))
        {
            return AuthenticateResult.Fail(
                "HTTP Basic credentials are accepted only over HTTPS or from a loopback client, and this request came over plain HTTP " +
                "from another host: serve the API over HTTPS (--api-certificate or --api-key-vault-certificate), or send " +
                "'Authorization: Bearer <admin key>'");
        }

        if (settings.AdminKey?.Matches(key) == true)
        {
            return Success([new Claim(ApiClaims.Role, ApiClaims.Admin)]);
        }

        if (settings.MetricsToken?.Matches(key) == true)
        {
            return Success([new Claim(ApiClaims.Role, ApiClaims.MetricsRole)]);
        }

        if (IsMetrics)
        {
            return AuthenticateResult.Fail($"the key is not the metrics token or the admin key; {MetricsHowTo}");
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
        var detail = result.Failure?.Message ?? $"no Authorization header; {(IsMetrics ? MetricsHowTo : HowTo)}";
        if (IsMetrics && settings.AdminKey is null && settings.MetricsToken is null)
        {
            detail = "no metrics token or admin key is configured on this gateway: start it with --metrics-token-file PATH or env " +
                "OGW_METRICS_TOKEN (at least 16 characters). " + detail;
        }
        else if (settings.AdminKey is null && NeedsAdmin())
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
            "(resources and status), the metrics token only /status and /metrics; tenants and keys are managed with the admin key").ExecuteAsync(Context);

    private static bool IsLoopback(System.Net.IPAddress? address) =>
        address is not null && System.Net.IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

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

    /// <summary>
    /// The base class logs every challenge and failure at Information under the handler's type name, which would make
    /// them the gateway's own lines (shown by default, one per refused request); they are the framework's.
    /// </summary>
    private sealed class FrameworkCategory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => inner.CreateLogger("Microsoft.AspNetCore.Authentication." + nameof(ApiKeyHandler));

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose()
        {
            // The application's logger factory is the container's to dispose.
        }
    }
}

/// <summary>The authorization policies of the API: admin only, the route's tenant (or admin), any valid key.</summary>
public static class ApiPolicies
{
    public const string Admin = "ogw-admin";
    public const string Tenant = "ogw-tenant";
    public const string AnyKey = "ogw-any";

    /// <summary>/status and /metrics: the metrics token or the admin key.</summary>
    public const string Metrics = "ogw-metrics";

    public static void Add(AuthorizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireClaim(ApiClaims.Role, ApiClaims.Admin));
        options.AddPolicy(Tenant, p => p.RequireAuthenticatedUser().AddRequirements(new RouteTenantRequirement()));

        // Any key of the API: the metrics token is not one.
        options.AddPolicy(AnyKey, p => p.RequireAuthenticatedUser().RequireClaim(ApiClaims.Role, ApiClaims.Admin, ApiClaims.TenantRole));
        options.AddPolicy(Metrics, p => p.RequireAuthenticatedUser().RequireClaim(ApiClaims.Role, ApiClaims.Admin, ApiClaims.MetricsRole));
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
