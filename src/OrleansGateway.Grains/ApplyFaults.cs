namespace OrleansGateway.Grains;

/// <summary>The points of a tenant change where a test may stop it (docs/reliability.md, "Atomic applies").</summary>
public enum ApplyStep
{
    /// <summary>The intent is stored (every listener the change may claim, the change marked in flight); nothing else happened.</summary>
    Intent,

    /// <summary>The listener claims of the new plan are made (edges may serve its routes).</summary>
    Claimed,

    /// <summary>The Secrets are pushed to the certificate grains.</summary>
    Certificates,

    /// <summary>The listeners the new plan no longer has are released.</summary>
    Released,

    /// <summary>The new resources and version are stored; only the tenant registry entry is left.</summary>
    Committed,
}

/// <summary>
/// A fault-injection hook for tests: the tenant grain awaits it after each <see cref="ApplyStep"/>. Nothing registers
/// one in the gateway, so production never calls any; a test registers one in its silos to throw at a step or to hang
/// there while it kills the silo.
/// </summary>
public interface IApplyFaults
{
    Task AtAsync(string tenant, ApplyStep reached);
}
