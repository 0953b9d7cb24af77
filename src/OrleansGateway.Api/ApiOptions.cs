using OrleansGateway.Model.Plan;

namespace OrleansGateway.Api;

/// <summary>What the management API takes from the gateway's command line.</summary>
/// <param name="AmbassadorId">The gateway installation the tenants' resources are compiled for.</param>
/// <param name="Compile">The compile options (bind address, namespace) every tenant's resources compile with.</param>
/// <param name="AdminKey">The admin key; null when none is configured (admin endpoints answer 401).</param>
/// <param name="HasCertificateSource">Whether a certificate source (Key Vault) takes uploaded certificates; otherwise
/// an upload is stored as the tenant's Secret resource.</param>
public sealed record ApiOptions(string AmbassadorId, CompileOptions Compile, AdminKey? AdminKey, bool HasCertificateSource)
{
    /// <summary>The read-only token of /status and /metrics; null when none is configured (then only the admin key reads them).</summary>
    public MetricsToken? MetricsToken { get; init; }

    /// <summary>Requests per second per key and per client address (<see cref="ApiRateLimiting"/>).</summary>
    public ApiRateLimits RateLimits { get; init; } = new();
}
