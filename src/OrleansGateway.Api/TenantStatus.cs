using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Api;

/// <summary>
/// <c>GET /api/v1/tenants/{tenant}/status</c>: the tenant grain's version, quota and usage, the listeners of its
/// Accepted resources (compiled here as the tenant grain compiles them), and what the edges report about those
/// listeners, reduced to this tenant's own numbers.
/// </summary>
internal static partial class TenantStatus
{
    public static async Task<IResult> GetAsync(string tenant, IGrainFactory grains, ApiOptions settings, ILoggerFactory loggers)
    {
        if (!await ResourceEndpoints.ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        var view = await grains.GetTenantGrain(tenant).GetAsync();
        var reports = await EdgeReportsAsync(grains, settings.AmbassadorId, loggers.CreateLogger(typeof(TenantStatus)));
        return Results.Json(Compose(view, reports, settings), ApiJson.Answers);
    }

    public static TenantStatusDto Compose(TenantView view, ImmutableArray<EdgeReport> reports, ApiOptions settings)
    {
        var tenant = view.Tenant;
        var accepted = view.Resources.Where(r => r.Status.State == ResourceState.Accepted).Select(r => r.Resource);
        var plan = GatewayCompiler.Compile(new CompileInput([.. accepted], settings.AmbassadorId, settings.Compile with { Tenant = tenant })).Plan;

        var listeners = plan.Listeners.Select(l =>
        {
            var edges = reports
                .SelectMany(r => r.Listeners.Where(s => s.Endpoint == l.Endpoint).Select(s => new EdgeListenerDto(
                    r.Edge, s.Bound, s.Error, s.ActiveConnections.GetValueOrDefault(tenant))))
                .OrderBy(e => e.Edge, StringComparer.Ordinal)
                .ToImmutableArray();
            var routes = l.SniRoutes.Select(r => r.Host.Text).Concat(l.CatchAll is null ? [] : ["*"]);

            // Only this tenant's members: another tenant's ejections (its mappings and upstreams) are none of its business.
            var ejections = reports
                .SelectMany(r => r.Ejections.Where(e => e.Endpoint == l.Endpoint && e.Tenant == tenant)
                    .Select(e => new EjectionDto(r.Edge, e.Host, e.Mapping, e.Service, e.Reason, e.Ejection, e.Since, e.Until)))
                .OrderBy(e => e.Edge, StringComparer.Ordinal).ThenBy(e => e.Mapping, StringComparer.Ordinal)
                .ToImmutableArray();
            return new ListenerStatusDto(
                l.Endpoint.Address,
                l.Endpoint.Port,
                l.TlsInspected,
                [.. routes],
                !edges.IsEmpty && edges.All(e => e.Bound),
                edges.Sum(e => e.ActiveConnections),
                edges,
                ejections);
        }).ToImmutableArray();

        // Connections counted per tenant over every listener an edge serves (a tenant's connection is on its own route).
        var active = reports.Sum(r => r.Listeners.Sum(s => s.ActiveConnections.GetValueOrDefault(tenant)));
        var usage = new UsageDto(plan.Listeners.Length, view.Resources.Count(r => r.Resource is TcpMapping), active);
        return new TenantStatusDto(
            tenant,
            view.Version,
            ResourceViews.Quota(view.Quota),
            usage,
            reports.Sum(r => r.RefusedConnections.GetValueOrDefault(tenant)),
            listeners);
    }

    /// <summary>The edges' reports; none when the edge status grain cannot answer (the tenant's own state still shows).</summary>
    private static async Task<ImmutableArray<EdgeReport>> EdgeReportsAsync(IGrainFactory grains, string ambassadorId, ILogger logger)
    {
        try
        {
            return await grains.GetEdgeStatusGrain(ambassadorId).GetAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogEdgeStatusFailed(logger, e);
            return [];
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The edges' listener reports cannot be read; tenant status shows no listener as bound")]
    private static partial void LogEdgeStatusFailed(ILogger logger, Exception exception);
}
