using System.CommandLine;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>The gateway's options: their help text, defaults, and the checks that turn them into <see cref="GatewaySettings"/>.</summary>
internal sealed class GatewayCommandLine
{
    private readonly SharedOptions _shared = new();

    private readonly Option<string> _configDir = new("--config-dir")
    {
        Description = "Directory of YAML/JSON resources (or one file) to serve; watched, changes apply within a second. Required for now.",
        Required = true,
    };

    private readonly Option<string> _storage = new("--storage")
    {
        Description = "Where the control plane keeps state: memory (the only choice until the Orleans control plane arrives) or azure.",
        DefaultValueFactory = _ => "memory",
    };

    private readonly Option<string> _apiUrl = new("--api-url")
    {
        Description = "URL the HTTP endpoints (/healthz, /readyz, /metrics, /status) listen on.",
        DefaultValueFactory = _ => "http://127.0.0.1:8080",
    };

    private readonly Option<string> _handshakeTimeout = DurationOption(
        "--handshake-timeout", TimeSpan.FromSeconds(10), "Close a client whose TLS handshake (ClientHello peek included) takes longer.");

    private readonly Option<string> _drainTimeout = DurationOption(
        "--drain-timeout", TimeSpan.FromSeconds(600), "How long connections of a removed listener may continue before they are closed.");

    private readonly Option<string> _serverFirstTimeout = DurationOption(
        "--server-first-timeout", TimeSpan.FromSeconds(1), "On a TLS-inspecting port, hand a client that sends nothing for this long to the host-less catch-all (server-first protocols).");

    public GatewayCommandLine()
    {
        _storage.AcceptOnlyFromAmong("memory", "azure");
        Root = new RootCommand("OrleansGateway: serves Emissary TCPMappings (TCP and TLS) from a configuration directory.")
        {
            _configDir,
            _storage,
            _apiUrl,
            _handshakeTimeout,
            _drainTimeout,
            _serverFirstTimeout,
        };
        foreach (var option in _shared.All)
        {
            Root.Add(option);
        }
    }

    public RootCommand Root { get; }

    /// <summary>The settings, or a message saying which value is wrong and what to give instead.</summary>
    public GatewaySettings Read(ParseResult result, out string? problem)
    {
        problem = Check(result);
        var apiUrl = Uri.TryCreate(result.GetValue(_apiUrl), UriKind.Absolute, out var uri) ? uri : new Uri("http://127.0.0.1:8080");
        return new GatewaySettings(
            Path.GetFullPath(result.GetValue(_configDir)!),
            result.GetValue(_shared.AmbassadorId)!,
            _shared.CompileOptions(result),
            apiUrl,
            new ProxyOptions
            {
                HandshakeTimeout = DurationOf(result, _handshakeTimeout),
                DrainTimeout = DurationOf(result, _drainTimeout),
                ServerFirstPeekTimeout = DurationOf(result, _serverFirstTimeout),
            });
    }

    private string? Check(ParseResult result)
    {
        if (result.GetValue(_storage) == "azure")
        {
            return "Azure Table storage arrives with the Orleans control plane; use --storage memory";
        }

        var configDir = result.GetValue(_configDir)!;
        if (!Directory.Exists(configDir) && !File.Exists(configDir))
        {
            return $"--config-dir '{configDir}' does not exist; give a directory of resources (it may be empty) or a resource file";
        }

        var apiUrl = result.GetValue(_apiUrl);
        if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
        {
            return $"--api-url '{apiUrl}' is not an http(s) URL without a path, e.g. http://127.0.0.1:8080";
        }

        if (DurationOf(result, _handshakeTimeout) <= TimeSpan.Zero || DurationOf(result, _serverFirstTimeout) <= TimeSpan.Zero)
        {
            return "--handshake-timeout and --server-first-timeout must be greater than zero";
        }

        return _shared.Validate(result);
    }

    /// <summary>Validated at parse time, so parsing here always succeeds.</summary>
    private static TimeSpan DurationOf(ParseResult result, Option<string> option)
        => Duration.TryParse(result.GetValue(option)!, out var value) ? value : TimeSpan.Zero;

    private static Option<string> DurationOption(string name, TimeSpan defaultValue, string description)
    {
        var option = new Option<string>(name)
        {
            Description = $"{description} A number and a unit: ms, s, m or h.",
            HelpName = "duration",
            DefaultValueFactory = _ => Duration.Format(defaultValue),
        };
        option.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!Duration.TryParse(text, out _))
            {
                result.AddError($"{name} '{text}' is not a duration; give a number and a unit such as 500ms, 10s or 2m");
            }
        });
        return option;
    }
}
