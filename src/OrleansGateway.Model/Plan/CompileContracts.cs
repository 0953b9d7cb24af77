using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Plan;

/// <summary>Settings of the gateway installation that the resources do not carry.</summary>
/// <param name="BindAddress">Address used for resources without <c>address</c> (Emissary: <c>AMBASSADOR_ENVOY_BIND_ADDRESS</c>).</param>
/// <param name="AmbassadorNamespace">The gateway's own namespace (<c>AMBASSADOR_NAMESPACE</c>) for service qualification.</param>
/// <param name="Tenant">Tenant that owns these resources (labels the plan's upstreams and its <see cref="SecretRef"/>s).</param>
/// <param name="SecretsExternal">When true, secrets are resolved outside the compiler (e.g. Key Vault) and a secret
/// name without a matching Secret resource is not an error.</param>
public sealed record CompileOptions(
    string BindAddress = "0.0.0.0",
    string AmbassadorNamespace = "default",
    string Tenant = CompileOptions.DefaultTenant,
    bool SecretsExternal = false)
{
    /// <summary>The tenant of a single-tenant gateway (the config directory without a tenant).</summary>
    public const string DefaultTenant = "default";
}

/// <param name="LoadDiagnostics">What the loader found about these resources (e.g. unknown-field warnings); the
/// ones that name a resource are added to that resource's status, so a status tells everything about it.</param>
public sealed record CompileInput(
    ImmutableArray<Resource> Resources,
    string AmbassadorId,
    CompileOptions? Options = null,
    ImmutableArray<Diagnostic> LoadDiagnostics = default);

/// <summary>
/// The plan, a status for every resource of the input, and every diagnostic (including those without a
/// resource, e.g. unreadable documents passed through from loading).
/// </summary>
public sealed record CompileResult(GatewayPlan Plan, ImmutableArray<ResourceStatus> Statuses, ImmutableArray<Diagnostic> Diagnostics)
{
    public bool HasDiscarded => Statuses.Any(s => s.State == ResourceState.Discarded);

    /// <summary>
    /// The canary groups whose weights could not be used (every member Discarded with
    /// <see cref="DiagnosticCodes.GroupWeights"/>), as data: a source that cannot be refused keeps serving such a
    /// group's last accepted version instead (docs/control-plane.md, apply flow).
    /// </summary>
    public ImmutableArray<RefusedGroup> RefusedGroups { get; init; } = [];
}

/// <summary>A canary group refused as a whole because of its weights.</summary>
/// <param name="Group">The group as messages name it, e.g. <c>0.0.0.0:2222, host a.example.com</c>.</param>
/// <param name="Members">Its members, in (namespace, name) order.</param>
/// <param name="Reason">Why, in the words of each member's status after "discarded: " (the weights, the total, what to change).</param>
public sealed record RefusedGroup(string Group, ImmutableArray<ResourceRef> Members, string Reason);
