using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>The operational endpoints on <c>--api-url</c>.</summary>
internal static class GatewayEndpoints
{
    public static void MapGatewayEndpoints(this WebApplication app)
    {
        // Liveness: the process answers. Nothing else belongs here, or an orchestrator restarts a gateway that
        // merely waits for a port.
        app.MapGet("/healthz", () => Results.Text("ok\n"));

        app.MapGet("/readyz", (GatewayState state) => state.Current switch
        {
            null => Results.Json(new { ready = false, reason = "the first configuration has not been applied yet" }, GatewayReport.Json, statusCode: 503),
            { AllBound: false } snapshot => Results.Json(
                new
                {
                    ready = false,
                    generation = snapshot.Apply.Generation,
                    unbound = snapshot.Apply.Failed.Select(l => new
                    {
                        address = l.Endpoint.Address,
                        port = l.Endpoint.Port,
                        error = l.Error,
                        resources = l.Resources.Select(GatewayReport.Describe),
                    }),
                },
                GatewayReport.Json,
                statusCode: 503),
            var snapshot => Results.Json(new { ready = true, generation = snapshot.Apply.Generation }, GatewayReport.Json),
        });

        app.MapGet("/status", (GatewayState state) => state.Current is { } snapshot
            ? Results.Json(snapshot.ToReport(), GatewayReport.Json)
            : Results.Json(new { error = "the first configuration has not been applied yet" }, GatewayReport.Json, statusCode: 503));
    }
}
