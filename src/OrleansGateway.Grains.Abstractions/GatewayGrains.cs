using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>Grain references by key, so that callers never build keys themselves.</summary>
public static class GatewayGrains
{
    public static ITenantGrain GetTenantGrain(this IGrainFactory grains, string tenant) =>
        grains.GetGrain<ITenantGrain>(TenantKey.For(tenant));

    public static IListenerGrain GetListenerGrain(this IGrainFactory grains, ListenerKey key) =>
        grains.GetGrain<IListenerGrain>(key.Value);

    public static IListenerDirectoryGrain GetDirectoryGrain(this IGrainFactory grains, string ambassadorId)
    {
        KeyParts.CheckSegment(ambassadorId, "ambassador id");
        return grains.GetGrain<IListenerDirectoryGrain>(ambassadorId);
    }

    public static IEdgeStatusGrain GetEdgeStatusGrain(this IGrainFactory grains, string ambassadorId)
    {
        KeyParts.CheckSegment(ambassadorId, "ambassador id");
        return grains.GetGrain<IEdgeStatusGrain>(ambassadorId);
    }

    /// <summary>The port grain of <paramref name="key"/>'s port: it arbitrates listen addresses between tenants on that port.</summary>
    public static IListenerPortGrain GetListenerPortGrain(this IGrainFactory grains, ListenerKey key) =>
        grains.GetGrain<IListenerPortGrain>(key.ToPortKey());

    /// <summary>The one grain of the cluster's own endpoints (the gateway's ports are the same for every installation).</summary>
    public static IClusterEndpointsGrain GetClusterEndpointsGrain(this IGrainFactory grains) =>
        grains.GetGrain<IClusterEndpointsGrain>("cluster");

    public static ICertificateGrain GetCertificateGrain(this IGrainFactory grains, SecretRef secret) =>
        grains.GetGrain<ICertificateGrain>(CertificateKey.For(secret));
}
