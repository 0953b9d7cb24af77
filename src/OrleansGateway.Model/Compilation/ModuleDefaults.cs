using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// The defaults the <c>ambassador</c> Module gives TCPMappings. Unset fields fall back to OrleansGateway's own
/// defaults: IPv4 and IPv6 both on (docs/tcpmapping-semantics.md, row 2; Emissary's has IPv6 off), connect timeout 3 s, no idle timeout.
/// </summary>
internal sealed record ModuleDefaults(
    ResourceRef? Source,
    bool EnableIpv4,
    bool EnableIpv6,
    ImmutableArray<CircuitBreakerSpec>? CircuitBreakers,
    string? Resolver,
    long? IdleTimeoutMs,
    long? ConnectTimeoutMs,
    bool UseAmbassadorNamespaceForServiceResolution)
{
    public const string ModuleName = "ambassador";
    public const long DefaultConnectTimeoutMs = 3000;

    public static readonly ModuleDefaults None = new(null, true, true, null, null, null, null, false);

    /// <summary>
    /// Picks the <c>ambassador</c> Module (first by namespace) from the accepted Modules, discards the other
    /// <c>ambassador</c> Modules naming the kept one, and marks Modules with other names Ignored.
    /// </summary>
    public static ModuleDefaults Select(IEnumerable<ResourceEntry> modules)
    {
        ResourceEntry? kept = null;
        foreach (var entry in modules)
        {
            if (!string.Equals(entry.Resource.Name, ModuleName, StringComparison.Ordinal))
            {
                entry.Ignore(DiagnosticCodes.ModuleOther, $"only the Module named '{ModuleName}' sets TCPMapping defaults; " +
                    "other Modules (tls, authentication, ...) do not concern TCP.");
                continue;
            }

            if (kept is null)
            {
                kept = entry;
                continue;
            }

            entry.Discard(DiagnosticCodes.ModuleDuplicate,
                $"only one '{ModuleName}' Module applies and {kept.Ref} comes first by namespace. " +
                "Merge the settings into that one, or delete this one.", related: kept.Ref);
        }

        if (kept is null)
        {
            return None;
        }

        var module = (ModuleResource)kept.Resource;
        var invalid = CircuitBreakerRules.FindInvalid(module.CircuitBreakers);
        if (invalid is not null)
        {
            kept.Warn(DiagnosticCodes.ModuleCircuitBreakers,
                $"circuit_breakers is invalid ({invalid}); every TCPMapping that inherits it (sets no circuit_breakers of its own) is discarded.",
                "spec.config.circuit_breakers");
        }

        return new ModuleDefaults(
            kept.Ref,
            module.EnableIpv4 ?? true,
            module.EnableIpv6 ?? true,
            module.CircuitBreakers,
            module.Resolver,
            module.IdleTimeoutMs,
            module.ConnectTimeoutMs,
            module.UseAmbassadorNamespaceForServiceResolution ?? false);
    }
}
