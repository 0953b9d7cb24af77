using System.Collections.Frozen;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy;

namespace OrleansGateway.Edge;

/// <summary>
/// Certificates of every tenant, one <see cref="SecretCertificateProvider"/> per tenant (that provider knows Secrets
/// by namespace and name only). A lookup goes to the provider of <see cref="SecretRef.Tenant"/>, so a route can only
/// ever get a certificate of its own tenant. Immutable; the data plane reads it from any thread.
/// </summary>
public sealed class TenantCertificateProvider(FrozenDictionary<string, SecretCertificateProvider> byTenant) : ICertificateProvider, IServerCertificateContexts
{
    public X509Certificate2? GetCertificate(SecretRef secret) => Find(secret, out var local)?.GetCertificate(local);

    public X509Certificate2Collection GetChain(SecretRef secret) => Find(secret, out var local)?.GetChain(local) ?? [];

    public X509Certificate2Collection? GetCaCertificates(SecretRef secret) => Find(secret, out var local)?.GetCaCertificates(local);

    /// <summary>The tenant provider's prepared context: kept while the tenant's certificates do not change (EdgeRouteCache).</summary>
    public SslStreamCertificateContext? GetServerContext(SecretRef secret) => Find(secret, out var local)?.GetServerContext(local);

    private SecretCertificateProvider? Find(SecretRef secret, out SecretRef local)
    {
        // Inside a tenant's provider Secrets carry the default tenant (it builds its keys from Secret resources).
        local = secret with { Tenant = CompileOptions.DefaultTenant };
        return byTenant.GetValueOrDefault(secret.Tenant);
    }
}
