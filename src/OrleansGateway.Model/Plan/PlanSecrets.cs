namespace OrleansGateway.Model.Plan;

/// <summary>How a plan uses a Secret.</summary>
public enum SecretUsage
{
    /// <summary>The certificate (with key) a TLS-terminating route serves.</summary>
    ServingCertificate,

    /// <summary>The CA that verifies client certificates of a terminating route (<c>ca_secret</c>).</summary>
    ClientCa,

    /// <summary>The certificate (with key) an upstream TLS origination presents.</summary>
    ClientCertificate,

    /// <summary>The CA an upstream's certificate must chain to.</summary>
    TrustedCa,
}

/// <summary>One Secret a plan names, and what for.</summary>
public readonly record struct SecretUse(SecretRef Secret, SecretUsage Usage)
{
    /// <summary>Whether the Secret must hold a certificate with its private key (not only CA certificates).</summary>
    public bool NeedsKey => Usage is SecretUsage.ServingCertificate or SecretUsage.ClientCertificate;
}

/// <summary>The one walk over "the Secrets a plan uses": the edge fetches them, the data plane builds TLS from them, certificate sources are asked for them.</summary>
public static class PlanSecrets
{
    /// <summary>Every use of a Secret by the listener's routes and upstreams, in plan order (a Secret used twice appears twice).</summary>
    public static IEnumerable<SecretUse> SecretUses(this ListenerPlan listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        foreach (var sni in listener.SniRoutes)
        {
            if (sni.Termination is null)
            {
                continue; // passthrough: the upstream holds the certificate
            }

            yield return new SecretUse(sni.Termination.Certificate, SecretUsage.ServingCertificate);
            if (sni.Termination.ClientCa is { } ca)
            {
                yield return new SecretUse(ca, SecretUsage.ClientCa);
            }
        }

        var routes = listener.SniRoutes.Select(r => r.Route).Append(listener.CatchAll).OfType<RoutePlan>();
        foreach (var origination in routes.SelectMany(r => r.Upstreams).Select(u => u.Origination).OfType<TlsOrigination>())
        {
            if (origination.ClientCertificate is { } client)
            {
                yield return new SecretUse(client, SecretUsage.ClientCertificate);
            }

            if (origination.TrustedCa is { } trusted)
            {
                yield return new SecretUse(trusted, SecretUsage.TrustedCa);
            }
        }
    }

    /// <summary>Every use of a Secret by every listener of the plan.</summary>
    public static IEnumerable<SecretUse> SecretUses(this GatewayPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.Listeners.SelectMany(l => l.SecretUses());
    }

    /// <summary>The distinct Secrets of <paramref name="uses"/>; with <paramref name="withKeyOnly"/> only those that must hold a key.</summary>
    public static HashSet<SecretRef> Secrets(this IEnumerable<SecretUse> uses, bool withKeyOnly = false) =>
        [.. uses.Where(u => !withKeyOnly || u.NeedsKey).Select(u => u.Secret)];
}
