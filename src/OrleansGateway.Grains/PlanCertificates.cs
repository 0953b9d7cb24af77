using OrleansGateway.Model;

namespace OrleansGateway.Grains;

/// <summary>The certificates (with keys) a plan serves: what a certificate source is asked for.</summary>
internal static class PlanCertificates
{
    /// <summary>
    /// Serving certificates of TLS-terminating routes and client certificates of originating upstreams. CAs
    /// (<c>ca_secret</c>) are not here: they come from Secret resources only (docs/key-vault.md).
    /// </summary>
    public static HashSet<SecretRef> Served(GatewayPlan plan)
    {
        var secrets = new HashSet<SecretRef>();
        foreach (var listener in plan.Listeners)
        {
            foreach (var sni in listener.SniRoutes)
            {
                secrets.Add(sni.Termination.Certificate);
            }

            var routes = listener.SniRoutes.Select(r => r.Route).Append(listener.CatchAll).OfType<RoutePlan>();
            foreach (var origination in routes.SelectMany(r => r.Upstreams).Select(u => u.Origination).OfType<TlsOrigination>())
            {
                if (origination.ClientCertificate is { } client)
                {
                    secrets.Add(client);
                }
            }
        }

        return secrets;
    }
}
