using System.CommandLine;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Reporting;

/// <summary>
/// The options that decide how resources compile, defined once so that <c>ogw check</c> and the gateway read
/// them, and default them, the same way.
/// </summary>
public sealed class SharedOptions
{
    public Option<string> AmbassadorId { get; } = new("--ambassador-id")
    {
        Description = "Serve resources whose ambassador_id holds this id (default: env AMBASSADOR_ID, else 'default').",
        DefaultValueFactory = _ => FromEnvironment("AMBASSADOR_ID"),
    };

    public Option<string> BindAddress { get; } = new("--bind-address")
    {
        Description = "Address for listeners whose resources give none (Emissary's AMBASSADOR_ENVOY_BIND_ADDRESS).",
        DefaultValueFactory = _ => "0.0.0.0",
    };

    public Option<string> Namespace { get; } = new("--namespace")
    {
        Description = "The gateway's own namespace, used to qualify service names (default: env AMBASSADOR_NAMESPACE, else 'default').",
        DefaultValueFactory = _ => FromEnvironment("AMBASSADOR_NAMESPACE"),
    };

    public IEnumerable<Option> All => [AmbassadorId, BindAddress, Namespace];

    public CompileOptions CompileOptions(ParseResult result) => new(
        BindAddress: result.GetValue(BindAddress)!,
        AmbassadorNamespace: result.GetValue(Namespace)!);

    /// <summary>A clear message when a value cannot be used, else null.</summary>
    public string? Validate(ParseResult result)
    {
        var bind = result.GetValue(BindAddress);
        if (!System.Net.IPAddress.TryParse(bind, out _))
        {
            return $"--bind-address '{bind}' is not an IP address; give one such as 0.0.0.0, 127.0.0.1 or ::";
        }

        return string.IsNullOrWhiteSpace(result.GetValue(AmbassadorId))
            ? "--ambassador-id must not be empty"
            : null;
    }

    private static string FromEnvironment(string variable)
        => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : "default";
}
