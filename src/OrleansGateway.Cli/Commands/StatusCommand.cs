using System.CommandLine;
using System.Text.Json;
using OrleansGateway.Cli.Client;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw status</c>: the tenant's quota and usage, and each of its listeners as the edges serve it.</summary>
internal static class StatusCommand
{
    public static Command Create(ClientContext context)
    {
        var command = new Command("status", "Show the tenant's version, quota and usage, and whether each of its listeners is bound on every edge.");
        ClientSession.Bind(command, "ogw status", context, tenantScoped: true, async (session, _, cancellationToken) =>
        {
            var tenant = Views.Segment(await session.TenantAsync(cancellationToken));
            var response = await session.CallAsync(HttpMethod.Get, $"api/v1/tenants/{tenant}/status", cancellationToken);
            session.Print(response, status => Write(status, session.Output));
            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static void Write(JsonElement status, TextWriter output)
    {
        var usage = Views.Object(status, "usage");
        output.WriteLine($"tenant:  {Views.Value(status, "tenant")} (version {Views.Value(status, "version")})");
        output.WriteLine($"quota:   {Views.Quota(Views.Object(status, "quota"))}");
        output.WriteLine(
            $"usage:   {Views.Value(usage, "listeners", "0")} listener(s), {Views.Value(usage, "mappings", "0")} mapping(s), "
            + $"{Views.Value(usage, "activeConnections", "0")} active connection(s); "
            + $"{Views.Value(status, "refusedConnections", "0")} refused over the connection limit");
        output.WriteLine();

        var listeners = Views.Array(status, "listeners").ToList();
        if (listeners.Count == 0)
        {
            output.WriteLine("No listeners.");
            return;
        }

        var rows = listeners.Select(l => new[]
        {
            Endpoint(Views.Value(l, "address"), Views.Value(l, "port")),
            Views.Object(l, "tls").ValueKind == JsonValueKind.True ? "tls" : "tcp",
            Views.Object(l, "bound").ValueKind == JsonValueKind.True ? "yes" : "no",
            Views.Value(l, "activeConnections", "0"),
            string.Join(",", Views.Array(l, "routes").Select(r => r.GetString() ?? "")),
        }).ToList();
        Views.Table(output, ["LISTENER", "TLS", "BOUND", "CONNECTIONS", "ROUTES"], rows);

        // Only the edges that need attention: a listener bound everywhere says so in its row.
        foreach (var listener in listeners)
        {
            foreach (var edge in Views.Array(listener, "edges").Where(e => Views.Object(e, "bound").ValueKind != JsonValueKind.True))
            {
                output.WriteLine(
                    $"  {Endpoint(Views.Value(listener, "address"), Views.Value(listener, "port"))} not bound on edge {Views.Value(edge, "edge")}: "
                    + Views.Value(edge, "error", "no error reported yet"));
            }

            // Outlier ejection (docs/tcpmapping-semantics.md): which canary member an edge sends no connections to, and until when.
            foreach (var ejection in Views.Array(listener, "ejections"))
            {
                var until = Views.Value(ejection, "until", "");
                output.WriteLine(
                    $"  {Endpoint(Views.Value(listener, "address"), Views.Value(listener, "port"))} host {Views.Value(ejection, "host", "*")}: "
                    + $"{Views.Value(ejection, "mapping")} ejected on edge {Views.Value(ejection, "edge")} "
                    + (until.Length == 0 ? "until its health check passes" : $"until {until}")
                    + $" (ejection {Views.Value(ejection, "ejection", "1")}): {Views.Value(ejection, "reason")}");
            }
        }
    }

    private static string Endpoint(string address, string port) => address.Contains(':', StringComparison.Ordinal) ? $"[{address}]:{port}" : $"{address}:{port}";
}
