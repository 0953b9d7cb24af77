using OrleansGateway.Model.Networks;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>
/// Gateway-wide settings of the control plane. They must be the same on every silo: a tenant grain compiles with
/// them wherever it is activated.
/// </summary>
public sealed class ControlPlaneOptions
{
    /// <summary>The installation's <c>ambassador_id</c>: tenant grains compile for it, edges serve its directory.</summary>
    public string AmbassadorId { get; set; } = "default";

    /// <summary>Address of listeners whose resources set none (<see cref="Model.Plan.CompileOptions.BindAddress"/>).</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>The gateway's own namespace (<see cref="Model.Plan.CompileOptions.AmbassadorNamespace"/>).</summary>
    public string AmbassadorNamespace { get; set; } = "default";

    /// <summary>
    /// The gateway's own egress rules (the operator's <c>--allow-upstream</c> ranges and <c>--allow-link-local-upstreams</c>),
    /// which tenant grains check for IP-literal upstreams when applying; edges check the same rules when connecting.
    /// </summary>
    public GatewayEgress Egress { get; set; } = GatewayEgress.Default;
}

/// <summary>The grain storage the control plane's grains persist to; silos that host them must register it.</summary>
public static class GatewayStorage
{
    public const string Name = "gateway";
}
