using OrleansGateway.Model;
using OrleansGateway.Proxy;

namespace OrleansGateway.Silo;

/// <summary>Everything the command line decides, validated.</summary>
/// <param name="ConfigPath">Directory (or file) of resources, watched for changes.</param>
/// <param name="ApiUrl">Where Kestrel serves /healthz, /readyz, /metrics and /status.</param>
internal sealed record GatewaySettings(
    string ConfigPath,
    string AmbassadorId,
    CompileOptions Compile,
    Uri ApiUrl,
    ProxyOptions Proxy);
