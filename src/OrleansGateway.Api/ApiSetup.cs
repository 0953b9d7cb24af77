using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace OrleansGateway.Api;

/// <summary>The management API (<c>/api/v1</c>), its OpenAPI document and the keys that open the Orleans Dashboard.</summary>
public static partial class ApiSetup
{
    public const string Prefix = "/api/v1";
    public const string OpenApiPath = "/api/v1/openapi.json";

    /// <summary>Where the host maps the Orleans Dashboard; its requests are authenticated here, for the admin key only.</summary>
    public const string DashboardPath = "/dashboard";

    /// <summary>The host's status report: the metrics token or the admin key (<see cref="ApiPolicies.Metrics"/>).</summary>
    public const string StatusPath = "/status";

    /// <summary>The host's Prometheus endpoint: the metrics token or the admin key (<see cref="ApiPolicies.Metrics"/>).</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The paths whose keys are the metrics token and the admin key only.</summary>
    public static readonly IReadOnlyList<string> MetricsPaths = [StatusPath, MetricsPath];

    public static void AddManagementApi(this WebApplicationBuilder builder, ApiOptions options) => builder.AddManagementApi(_ => options);

    /// <param name="options">Made once, at the first request: for options known only once the host has started (an admin key
    /// read from Key Vault).</param>
    public static void AddManagementApi(this WebApplicationBuilder builder, Func<IServiceProvider, ApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(options);
        builder.Services.AddAuthentication(ApiKeyHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        builder.Services.AddAuthorization(ApiPolicies.Add);
        builder.Services.AddSingleton<IAuthorizationHandler, RouteTenantRequirement>();
        builder.Services.AddProblemDetails();
        builder.Services.AddApiRateLimiting();
        builder.Services.AddSingleton<KnownTenants>();
        builder.Services.AddOpenApi(o => o.ShouldInclude = d => d.RelativePath?.StartsWith("api/v1/", StringComparison.Ordinal) == true);
    }

    public static void MapManagementApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWhen(c => c.Request.Path.StartsWithSegments(Prefix), api => api.Use(ClusterFailuresAsync));

        // Error statuses without a body (no route: 404, wrong method: 405, an unreadable query value: 400) become problems.
        app.UseStatusCodePages();

        // Before authentication: a request over a limit costs no grain call (ApiRateLimiting).
        app.UseApiRateLimiting();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapOpenApi(OpenApiPath).AllowAnonymous();
        var api = app.MapGroup(Prefix);
        api.MapGet("/whoami", (HttpContext c) => Results.Json(
                c.User.IsAdmin() ? new WhoAmIDto(ApiClaims.Admin, null, null)
                    : new WhoAmIDto(ApiClaims.TenantRole, c.User.TenantOf(), c.User.FindFirst(ApiClaims.KeyId)?.Value),
                ApiJson.Answers))
            .RequireAuthorization(ApiPolicies.AnyKey).WithName("WhoAmI").WithTags("keys").Produces<WhoAmIDto>();
        TenantEndpoints.Map(api);
        ResourceEndpoints.Map(api);
        CertificateEndpoints.Map(api);
    }

    /// <summary>
    /// A grain call whose grain storage failed, or that cannot reach the cluster, is a 503 that says which; any other failure is a 500 problem whose
    /// detail says nothing of the exception (its message may hold a resource's content), which goes to the log. A
    /// malformed request (BadHttpRequestException) keeps the 4xx the server gives it.
    /// </summary>
    private static async Task ClusterFailuresAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (e is OrleansException && IsStorageFailure(e) && !context.Response.HasStarted)
        {
            LogStorageFailure(context.RequestServices.GetRequiredService<ILogger<WebApplication>>(), context.Request.Method, context.Request.Path, e.Message);
            context.Response.Clear();
            await ApiProblems.StorageUnavailable().ExecuteAsync(context);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException && !context.Response.HasStarted)
        {
            LogClusterFailure(context.RequestServices.GetRequiredService<ILogger<WebApplication>>(), context.Request.Method, context.Request.Path, e);
            context.Response.Clear();
            await ApiProblems.Unavailable($"the cluster did not answer ({e.GetType().Name}); try again, and check the core silos if it persists")
                .ExecuteAsync(context);
        }
        catch (Exception e) when (e is not BadHttpRequestException && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            LogUnexpected(context.RequestServices.GetRequiredService<ILogger<WebApplication>>(), context.Request.Method, context.Request.Path, context.TraceIdentifier, e);
            context.Response.Clear();
            await ApiProblems.Problem(500, "Internal error", $"the gateway failed to handle this request; the operator finds the cause in its log under trace id {context.TraceIdentifier}")
                .ExecuteAsync(context);
        }
    }

    /// <summary>
    /// Orleans wraps a storage provider's failure as "Error from storage provider …" (its StateStorageBridge); the Azure
    /// SDK's exception inside may come through serialization only as a fallback naming its type.
    /// </summary>
    private static bool IsStorageFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e.Message.StartsWith("Error from storage provider ", StringComparison.Ordinal)
                || e.GetType().FullName == "Azure.RequestFailedException"
                || e is Orleans.Serialization.UnavailableExceptionFallbackException { ExceptionType: "Azure.RequestFailedException" })
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path}: the gateway's storage cannot be reached ({Reason})")]
    private static partial void LogStorageFailure(ILogger logger, string method, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path}: the cluster cannot be reached")]
    private static partial void LogClusterFailure(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed (trace id {TraceId})")]
    private static partial void LogUnexpected(ILogger logger, string method, string path, string traceId, Exception exception);
}
