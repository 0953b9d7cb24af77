using System.CommandLine;

namespace OrleansGateway.Cli.Client;

internal enum OutputFormat
{
    Table,
    Json,
    Yaml,
}

/// <summary>Where the client connects, with which key, for which tenant, and how it prints.</summary>
/// <param name="Tenant">From <c>--tenant</c> or <c>OGW_TENANT</c>; null means "the key's tenant" (whoami).</param>
internal sealed record ClientSettings(Uri Server, string? Token, string? Tenant, OutputFormat Format);

/// <summary>
/// The options every client command takes. Each command adds its own copies rather than one recursive set on the
/// root, because <c>ogw check</c> has an <c>--output</c> of its own with other values.
/// </summary>
internal sealed class ClientOptions
{
    public const string DefaultServer = "http://127.0.0.1:8080";

    public Option<string?> Server { get; } = new("--server")
    {
        Description = $"The gateway's management API URL (default: env OGW_SERVER, else {DefaultServer}).",
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = "API key (default: env OGW_TOKEN; the variable keeps it out of the process list).",
    };

    public Option<string?> Tenant { get; } = new("--tenant")
    {
        Description = "Tenant to act on (default: env OGW_TENANT, else the tenant of the key).",
    };

    public Option<string> Output { get; } = CreateOutput();

    /// <param name="tenantScoped">Whether the command acts on one tenant's resources (adds <c>--tenant</c>).</param>
    public void AddTo(Command command, bool tenantScoped)
    {
        command.Add(Server);
        command.Add(Token);
        if (tenantScoped)
        {
            command.Add(Tenant);
        }

        command.Add(Output);
    }

    /// <summary>The settings from the options, else the environment, else the defaults; or a usage problem.</summary>
    public (ClientSettings? Settings, string? Problem) Resolve(ParseResult result, Func<string, string?> environment)
    {
        var serverText = FirstOf(result.GetValue(Server), environment("OGW_SERVER")) ?? DefaultServer;

        // "127.0.0.1:8080" is what people type; http is what the gateway serves by default.
        var withScheme = serverText.Contains("://", StringComparison.Ordinal) ? serverText : "http://" + serverText;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
        {
            return (null, $"--server/OGW_SERVER '{serverText}' is not an http(s) URL; give one such as {DefaultServer}");
        }

        // A trailing slash keeps a path prefix (https://example.com/ogw) when relative API paths are resolved.
        if (!server.AbsolutePath.EndsWith('/'))
        {
            server = new Uri(server.AbsoluteUri + "/");
        }

        var tenant = FirstOf(result.GetValue(Tenant), environment("OGW_TENANT"));
        var format = result.GetValue(Output) switch
        {
            "json" => OutputFormat.Json,
            "yaml" => OutputFormat.Yaml,
            _ => OutputFormat.Table,
        };
        return (new ClientSettings(server, FirstOf(result.GetValue(Token), environment("OGW_TOKEN")), tenant, format), null);
    }

    private static string? FirstOf(string? option, string? variable) =>
        !string.IsNullOrWhiteSpace(option) ? option.Trim() : !string.IsNullOrWhiteSpace(variable) ? variable.Trim() : null;

    private static Option<string> CreateOutput()
    {
        var output = new Option<string>("--output", "-o")
        {
            Description = "table (for people), json (the API's JSON as it came, see docs/api.md) or yaml.",
            DefaultValueFactory = _ => "table",
        };
        output.AcceptOnlyFromAmong("table", "json", "yaml");
        return output;
    }
}
