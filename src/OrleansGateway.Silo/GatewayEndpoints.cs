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

        app.MapGet("/readyz", (GatewaySettings settings, ConfigDirectoryState state, EdgeState edges, GatewayStatus status, [FromServices] KubernetesHealth? kubernetes) =>
            WithKubernetes(Readiness(settings, state, edges, status), kubernetes));

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

    private static IResult Readiness(GatewaySettings settings, ConfigDirectoryState state, EdgeState edges, GatewayStatus status)
    {
        if (settings.ConfigPath is not null && state.Config is null)
        {
            return NotReady(new { ready = false, reason = "the config directory has not been applied to the tenant grains yet" });
        }

        if (!settings.Cluster.ServesTraffic)
        {
            return Results.Json(new { ready = true, role = "core" }, GatewayReport.Json);
        }

        if (edges.Edge is not { } edge)
        {
            return NotReady(new { ready = false, reason = "the first snapshot of the routes has not been applied yet" });
        }

        var cache = edges.Cache;
        if (cache is { IsConnected: false })
        {
            // The edge keeps serving its last snapshot; readiness says so, so that a load balancer can prefer
            // edges that still receive changes.
            return NotReady(new
            {
                ready = false,
                cluster = "unreachable",
                servingSnapshotFrom = cache.LastSuccessfulRefresh,
                directoryVersion = edge.Snapshot.DirectoryVersion,
                generation = edge.Apply.Generation,
            });
        }

        if (!status.HasSynced)
        {
            return NotReady(new { ready = false, reason = "the routes of the config directory have not reached this edge yet" });
        }

        if (!edge.AllBound)
        {
            // Anyone may ask /readyz: a count, never the tenants' addresses, ports or resources (/status has them, with a key).
            return NotReady(new { ready = false, generation = edge.Apply.Generation, unbound = edge.Apply.Failed.Count() });
        }

        return Results.Json(new { ready = true, generation = edge.Apply.Generation, directoryVersion = edge.Snapshot.DirectoryVersion }, GatewayReport.Json);
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
