using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Namespace qualification of the service host (docs/tcpmapping-semantics.md, "Service"): Kubernetes resolvers turn a bare name
/// into <c>name.&lt;mapping namespace&gt;</c> when the mapping is not in the gateway's namespace; Consul never
/// qualifies, rejects dots and ignores the port.
/// </summary>
internal static class ServiceQualifier
{
    public static string Qualify(ResourceEntry entry, TcpMapping m, ParsedService parsed, ResolverPlan resolver, ModuleDefaults module, CompileOptions options)
    {
        if (resolver.Kind == ResolverKind.Consul)
        {
            if (parsed.Host.Contains('.'))
            {
                entry.Discard(DiagnosticCodes.ResolverConsulDots, $"The Consul resolver does not allow dots in service names ('{parsed.Host}'); " +
                    "write the Consul service name alone, or use a Kubernetes resolver.", "spec.service");
            }

            if (parsed.Port is not null)
            {
                entry.Warn(DiagnosticCodes.ResolverConsulPort, $"The Consul resolver does not allow overriding service port; ignoring requested port {parsed.Port} " +
                    "(Consul supplies the port of each instance).", "spec.service");
            }

            return parsed.Host;
        }

        var unqualified = !parsed.Host.Contains('.') && !parsed.Host.Contains(':') && parsed.Host != "localhost";
        return unqualified && !module.UseAmbassadorNamespaceForServiceResolution &&
               !string.Equals(m.Namespace, options.AmbassadorNamespace, StringComparison.Ordinal)
            ? parsed.Host + "." + m.Namespace
            : parsed.Host;
    }
}
