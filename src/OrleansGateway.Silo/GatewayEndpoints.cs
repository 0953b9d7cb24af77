using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using OrleansGateway.Api;
using OrleansGateway.Edge;
using OrleansGateway.Reporting;
using OrleansGateway.Sources.ConfigDirectory;
using OrleansGateway.Sources.Kubernetes;

namespace OrleansGateway.Silo;

/// <summary>The operational endpoints on <c>--api-url</c>.</summary>
internal static class GatewayEndpoints
{
    public static void MapGatewayEndpoints(this WebApplication app)
    {
        // Liveness: the process answers. Nothing else belongs here, or an orchestrator restarts a gateway that
        // merely waits for a port or for its cluster.
        app.MapGet("/healthz", () => Results.Text("ok\n"));

        app.MapGet("/readyz", (GatewaySettings settings, ConfigDirectoryState state, EdgeState edges, GatewayStatus status, TimeProvider time, [FromServices] KubernetesHealth? kubernetes) =>
            WithKubernetes(Readiness(settings, state, edges, status, time), kubernetes));

        app.MapGet(ApiSetup.StatusPath, async (GatewayStatus status, ILogger<GatewayStatus> logger) =>
        {
            if (!status.HasSynced)
            {
                return Results.Json(new { error = "the first configuration has not been applied yet" }, GatewayReport.Json, statusCode: 503);
            }

            try
            {
                return Results.Json(await status.ReportAsync(), GatewayReport.Json);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The statuses live in the tenant grains: without the cluster there are none to show.
                Log.StatusFailed(logger, e);
                return Results.Json(new { cluster = "unreachable", error = "the tenant grains cannot be read: " + e.Message }, GatewayReport.Json, statusCode: 503);
            }
        }).RequireAuthorization(ApiPolicies.Metrics);
    }

    /// <summary>
    /// Whether this silo can serve (docs/control-plane.md, "Readiness"). An edge is ready once it applied a snapshot of
    /// the routes and stays ready while the control plane is unreachable (it keeps serving its last good snapshot)
    /// unless --max-snapshot-age is exceeded; a tenant's listener that cannot be bound is reported, not fatal.
    /// </summary>
    private static IResult Readiness(GatewaySettings settings, ConfigDirectoryState state, EdgeState edges, GatewayStatus status, TimeProvider time)
    {
        if (settings.ConfigPath is not null && state.Config is null)
        {
            return NotReady(new { ready = false, reason = "the config directory has not been applied to the tenant grains yet" });
        }

        if (!settings.Cluster.ServesTraffic)
        {
            return Results.Json(new { ready = true, role = "core" }, GatewayReport.Json);
        }

        var readiness = EdgeReadiness.Of(edges, time, settings.MaxSnapshotAge);
        if (readiness.Serving is not { } edge)
        {
            return NotReady(new { ready = false, reason = "the first snapshot of the routes has not been applied yet" });
        }

        if (!status.HasSynced)
        {
            return NotReady(new { ready = false, reason = "the routes of the config directory have not reached this edge yet" });
        }

        var detail = new
        {
            ready = readiness.Ready,
            reason = readiness.TooOld
                ? $"the control plane is unreachable and the last good snapshot of the routes is older than --max-snapshot-age {settings.MaxSnapshotAge}"
                : null,
            generation = edge.Apply.Generation,
            directoryVersion = edge.Snapshot.DirectoryVersion,
            controlPlane = readiness.ControlPlaneReachable ? "reachable" : "unreachable",
            snapshotConfirmedAt = readiness.SnapshotConfirmedAt,
            snapshotAgeSeconds = readiness.SnapshotAge is { } age ? Math.Round(age.TotalSeconds, 1) : (double?)null,
            maxSnapshotAgeSeconds = settings.MaxSnapshotAge?.TotalSeconds,
            // Anyone may ask /readyz: a count, never the tenants' addresses, ports or resources (/status and /metrics
            // name them by tenant, with a key).
            unbound = edge.Unbound.Length,
        };
        return readiness.Ready ? Results.Json(detail, GatewayReport.Json) : NotReady(detail);
    }

    private static IResult NotReady(object body) => Results.Json(body, GatewayReport.Json, statusCode: 503);

    /// <summary>
    /// With <c>--kubernetes</c>, whether each watch reaches the API server (docs/kubernetes.md, "Readiness"). Detail
    /// only: while the API server is unreachable the gateway keeps serving what was applied, so readiness does not
    /// change with it.
    /// </summary>
    private static IResult WithKubernetes(IResult readiness, KubernetesHealth? kubernetes)
    {
        if (kubernetes is null || readiness is not IValueHttpResult { Value: { } body })
        {
            return readiness;
        }

        var detail = JsonSerializer.SerializeToNode(body, body.GetType(), GatewayReport.Json)!.AsObject();
        detail["kubernetes"] = JsonSerializer.SerializeToNode(kubernetes.Report(), GatewayReport.Json);
        return Results.Json(detail, GatewayReport.Json, statusCode: (readiness as IStatusCodeHttpResult)?.StatusCode);
    }
}
