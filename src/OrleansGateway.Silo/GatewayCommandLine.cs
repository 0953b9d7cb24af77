using System.Collections.Immutable;
using System.CommandLine;
using System.Net;
using OrleansGateway.Api;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Networks;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>The gateway's options: their help text, defaults, and the checks that turn them into <see cref="GatewaySettings"/>.</summary>
internal sealed class GatewayCommandLine
{
    private readonly SharedOptions _shared = new();
    private readonly KeyVaultCommandLine _keyVault = new();
    private readonly ApiServingCommandLine _apiServing = new();
    private readonly KubernetesCommandLine _kubernetes = new();

    private readonly Option<string> _configDir = new("--config-dir")
    {
        Description = "Directory of YAML/JSON resources (or one file), applied to the tenant grains and watched: top-level files go to " +
            "tenant 'default', each subdirectory to the tenant of its name. Optional: without it the gateway serves what the grains hold.",
    };

    private readonly Option<string> _role = new("--role")
    {
        Description = "all: grains and data plane; edge: data plane only (hosts no grain); core: grains only (binds no listener).",
        DefaultValueFactory = _ => "all",
    };

    private readonly Option<string> _storage = new("--storage")
    {
        Description = "Where grain state lives: azure (Azure Table storage, kept across restarts) or memory (lost when the process stops).",
        DefaultValueFactory = _ => "azure",
    };

    private readonly Option<string> _connectionString = new("--storage-connection-string")
    {
        Description = "Azure Storage connection string for --storage azure and --clustering azure " +
            "(default: env OGW_STORAGE_CONNECTION_STRING, else UseDevelopmentStorage=true, the local Azurite emulator).",
        HelpName = "connection-string",

        // No DefaultValueFactory: --help prints defaults, and this one may hold an account key from the environment.
    };

    private readonly Option<string> _storageEndpoint = new("--storage-endpoint")
    {
        Description = "Azure Table endpoint for --storage azure and --clustering azure, e.g. https://myaccount.table.core.windows.net, " +
            "reached with DefaultAzureCredential (in AKS the workload identity) instead of a connection string. Default: env OGW_STORAGE_ENDPOINT.",
        HelpName = "uri",
    };

    private readonly Option<string> _clustering = new("--clustering")
    {
        Description = "How silos find each other: localhost (one machine; see --primary-silo) or azure (a membership table in Azure Table storage).",
        DefaultValueFactory = _ => "localhost",
    };

    private readonly Option<int> _siloPort = new("--silo-port")
    {
        Description = "Port for silo-to-silo traffic (on 127.0.0.1 with localhost clustering).",
        DefaultValueFactory = _ => 11111,
    };

    private readonly Option<int> _gatewayPort = new("--gateway-port")
    {
        Description = "Port Orleans clients connect to.",
        DefaultValueFactory = _ => 30000,
    };

    private readonly Option<string> _primarySilo = new("--primary-silo")
    {
        Description = "Localhost clustering with several processes: the primary silo's endpoint (its --silo-port), e.g. 127.0.0.1:11111. " +
            "Omit on the primary itself.",
        HelpName = "address:port",
    };

    private readonly Option<string> _clusterId = new("--cluster-id")
    {
        Description = "Orleans cluster id: silos with the same id form one cluster.",
        DefaultValueFactory = _ => "ogw",
    };

    private readonly Option<string> _serviceId = new("--service-id")
    {
        Description = "Orleans service id: grain state is keyed by it, so it must stay the same across deployments.",
        DefaultValueFactory = _ => "ogw",
    };

    private readonly Option<string> _apiUrl = new("--api-url")
    {
        Description = "URL the HTTP endpoints (/healthz, /readyz, /metrics, /status, /api/v1, /dashboard) listen on: http, or https with " +
            "--api-certificate or --api-key-vault-certificate.",
        DefaultValueFactory = _ => "http://127.0.0.1:8080",
    };

    private readonly Option<string> _adminKeyFile = new("--admin-key-file")
    {
        Description = "File holding the management API's admin key (trimmed; at least 16 characters). Default: env OGW_ADMIN_KEY. " +
            "Without either, admin endpoints and /dashboard answer 401; tenant keys still work.",
        HelpName = "path",

        // No DefaultValueFactory: --help prints defaults, and the key must never be printed.
    };

    private readonly Option<string> _handshakeTimeout = DurationOption(
        "--handshake-timeout", TimeSpan.FromSeconds(10), "Close a client whose TLS handshake (ClientHello peek included) takes longer.");

    private readonly Option<string> _drainTimeout = DurationOption(
        "--drain-timeout", TimeSpan.FromSeconds(600), "How long connections of a removed listener may continue before they are closed.");

    private readonly Option<string> _serverFirstTimeout = DurationOption(
        "--server-first-timeout", TimeSpan.FromSeconds(1), "On a TLS-inspecting port, hand a client that sends nothing for this long to the host-less catch-all (server-first protocols).");

    private readonly Option<bool> _allowLinkLocal = new("--allow-link-local-upstreams")
    {
        Description = "Let mappings reach link-local upstreams (169.254.0.0/16, fe80::/10). Off by default: cloud instance metadata " +
            "answers there. The metadata addresses themselves stay refused unless --allow-upstream opens them.",
    };

    private readonly Option<string[]> _allowUpstream = new("--allow-upstream")
    {
        Description = "Open an address range the gateway's own egress rules refuse to every tenant (e.g. 168.63.129.16/32): cloud metadata " +
            "and WireServer addresses, link-local, and the gateway's own endpoints (its listeners, every silo's silo, Orleans gateway and API " +
            "port). Repeatable. Tenants' quotas (allowedUpstreams) still apply.",
        HelpName = "CIDR",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string[]> _proxyProtocolTrusted = new("--proxy-protocol-trusted")
    {
        Description = "Only peers in this address range may send a PROXY protocol header to a Listener whose protocolStack has PROXY; " +
            "a connection from any other peer is closed unread. Repeatable. Default: any peer may (put the load balancer's range here).",
        HelpName = "CIDR",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _relayEngine = new("--relay-engine")
    {
        Description = "What relays connections: native (Linux: event loops of the gateway's own with epoll and splice; TLS connections " +
            "on the runtime's sockets; elsewhere the same as managed) or managed (the .NET runtime's sockets for every connection).",
        DefaultValueFactory = _ => "native",
    };

    private readonly Option<string> _logLevel = new("--log-level")
    {
        Description = "Level of the gateway's own log (categories OrleansGateway.*): trace, debug, information, warning, error, critical " +
            "or none. Default: env OGW_LOG_LEVEL, else information. The framework (Orleans, ASP.NET Core, ...) logs warnings and errors " +
            "(Logging__LogLevel__Default changes that).",
        HelpName = "level",
    };

    // Connection limits (docs/data-plane.md, "Connection limits"); 0 turns one off.
    private readonly Option<int> _maxConnections = LimitOption(
        "--max-connections", new ProxyOptions().MaxConnections, "Client connections open at once in this process; more are closed at accept.");

    private readonly Option<int> _maxPerListener = LimitOption(
        "--max-connections-per-listener", new ProxyOptions().MaxConnectionsPerListener, "Client connections open at once on one listener (address and port).");

    private readonly Option<int> _maxPerSource = LimitOption(
        "--max-connections-per-source", new ProxyOptions().MaxConnectionsPerSource, "Client connections open at once from one client address.");

    private readonly Option<int> _maxTlsHandshakes = LimitOption(
        "--max-tls-handshakes", new ProxyOptions().MaxTlsHandshakes,
        "Connections of TLS-inspecting listeners still before their route and TLS handshake are done (the pre-handshake budget of all tenants).");

    private readonly Option<string> _maxSnapshotAge = new("--max-snapshot-age")
    {
        Description = "While the control plane is unreachable, /readyz answers 503 once the last good snapshot of the routes is older " +
            "than this (a number and a unit: ms, s, m or h). Default: none, an edge serving its last snapshot stays ready.",
        HelpName = "duration",
    };

    private readonly Option<int> _apiRateLimit = new("--api-rate-limit")
    {
        Description = "Requests per second each API key may send to /api/v1 (a burst of as many, then 429 with Retry-After; 0: no limit). " +
            "The admin key is limited per address only.",
        DefaultValueFactory = _ => ApiRateLimits.DefaultPerKey,
    };

    private readonly Option<int> _apiRateLimitPerSource = new("--api-rate-limit-per-source")
    {
        Description = "Requests per second each client address may send to /api/v1, whatever its key (0: no limit).",
        DefaultValueFactory = _ => ApiRateLimits.DefaultPerSource,
    };

    public GatewayCommandLine()
    {
        _maxSnapshotAge.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!Duration.TryParse(text, out var age) || age <= TimeSpan.Zero)
            {
                result.AddError($"--max-snapshot-age '{text}' is not a positive duration; give a number and a unit such as 90s, 10m or 1h");
            }
        });
        _role.AcceptOnlyFromAmong("all", "edge", "core");
        _storage.AcceptOnlyFromAmong("azure", "memory");
        _clustering.AcceptOnlyFromAmong("localhost", "azure");
        _relayEngine.AcceptOnlyFromAmong("native", "managed");
        Root = new RootCommand("OrleansGateway: an Orleans silo that serves Emissary TCPMappings (TCP and TLS) of many tenants.")
        {
            _configDir,
            _role,
            _storage,
            _connectionString,
            _storageEndpoint,
            _clustering,
            _siloPort,
            _gatewayPort,
            _primarySilo,
            _clusterId,
            _serviceId,
            _apiUrl,
            _adminKeyFile,
            _handshakeTimeout,
            _drainTimeout,
            _serverFirstTimeout,
            _allowLinkLocal,
            _relayEngine,
            _logLevel,
            _allowUpstream,
            _proxyProtocolTrusted,
            _maxConnections,
            _maxPerListener,
            _maxPerSource,
            _maxTlsHandshakes,
            _maxSnapshotAge,
            _apiRateLimit,
            _apiRateLimitPerSource,
        };
        foreach (var option in _shared.All.Concat(_keyVault.All).Concat(_apiServing.All).Concat(_kubernetes.All))
        {
            Root.Add(option);
        }
    }

    public RootCommand Root { get; }

    /// <summary>The settings, or a message saying which value is wrong and what to give instead.</summary>
    public GatewaySettings Read(ParseResult result, out string? problem)
    {
        var apiUrl = Uri.TryCreate(result.GetValue(_apiUrl), UriKind.Absolute, out var uri) ? uri : new Uri("http://127.0.0.1:8080");
        var keyVault = _keyVault.Read(result);
        var apiServing = _apiServing.Read(result, apiUrl, keyVault is not null, out var servingProblem);
        var keyProblem = ReadAdminKey(result, apiServing.AdminKeyVaultSecret, out var adminKey);
        var levelProblem = LogLevelOf(result, out var logLevel);
        var storageProblem = StorageEndpointOf(result, out var storageEndpoint);
        problem = Check(result) ?? storageProblem ?? keyProblem ?? servingProblem ?? levelProblem;
        var configDir = result.GetValue(_configDir);
        var primary = IPEndPoint.TryParse(result.GetValue(_primarySilo) ?? "", out var endpoint) ? endpoint : null;
        var cluster = new ClusterSettings(
            Enum.Parse<SiloRole>(result.GetValue(_role)!, ignoreCase: true),
            Enum.Parse<StorageKind>(result.GetValue(_storage)!, ignoreCase: true),
            Enum.Parse<ClusteringKind>(result.GetValue(_clustering)!, ignoreCase: true),
            result.GetValue(_connectionString) ?? DefaultConnectionString(),
            result.GetValue(_siloPort),
            result.GetValue(_gatewayPort),
            primary,
            result.GetValue(_clusterId)!,
            result.GetValue(_serviceId)!)
        {
            StorageEndpoint = storageEndpoint,
            AdvertisedAddress = _kubernetes.AdvertisedAddress(result),
            SiloName = KubernetesCommandLine.SiloName(),
        };
        var kubernetes = problem is null ? _kubernetes.Read(result, out problem) : null;
        return new GatewaySettings(
            configDir is null ? null : Path.GetFullPath(configDir),
            result.GetValue(_shared.AmbassadorId)!,
            _shared.CompileOptions(result),
            apiUrl,
            new ProxyOptions
            {
                HandshakeTimeout = DurationOf(result, _handshakeTimeout),
                DrainTimeout = DurationOf(result, _drainTimeout),
                ServerFirstPeekTimeout = DurationOf(result, _serverFirstTimeout),

                // A tenant's upstream must not reach this process's own control ports (grain calls, admin API).
                ProtectedPorts = [cluster.SiloPort, cluster.GatewayPort, apiUrl.Port],
                AllowLinkLocalUpstreams = result.GetValue(_allowLinkLocal),
                RelayEngine = Enum.Parse<RelayEngine>(result.GetValue(_relayEngine)!, ignoreCase: true),
                AllowedUpstreamNetworks = Networks(result, _allowUpstream, out _),
                ProxyProtocolTrustedNetworks = Networks(result, _proxyProtocolTrusted, out _),
                MaxConnections = result.GetValue(_maxConnections),
                MaxConnectionsPerListener = result.GetValue(_maxPerListener),
                MaxConnectionsPerSource = result.GetValue(_maxPerSource),
                MaxTlsHandshakes = result.GetValue(_maxTlsHandshakes),
            },
            cluster,
            adminKey)
        {
            KeyVault = keyVault,
            ApiServing = apiServing,
            LogLevel = logLevel,
            Kubernetes = kubernetes,
            MaxSnapshotAge = result.GetValue(_maxSnapshotAge) is { } age && Duration.TryParse(age, out var maxAge) ? maxAge : null,
            ApiRateLimits = new ApiRateLimits(result.GetValue(_apiRateLimit), result.GetValue(_apiRateLimitPerSource)),
        };
    }

    /// <summary>
    /// The admin key from --admin-key-file, else env OGW_ADMIN_KEY; none when it comes from the vault
    /// (<paramref name="vaultSecret"/>, read at start). A problem never quotes the key.
    /// </summary>
    private string? ReadAdminKey(ParseResult result, string? vaultSecret, out AdminKey? key)
    {
        key = null;
        if (vaultSecret is not null)
        {
            return result.GetValue(_adminKeyFile) is null ? null
                : $"--admin-key-file and --admin-key-vault-secret (or env OGW_ADMIN_KEY_VAULT_SECRET) both name the admin key; give one";
        }

        var problem = ReadKey(result.GetValue(_adminKeyFile), "--admin-key-file", "OGW_ADMIN_KEY", "admin key", out var text);
        key = text is null ? null : new AdminKey(text);
        return problem;
    }

    /// <summary>
    /// A key or token from the file <paramref name="path"/> (trimmed), else from env <paramref name="env"/>; null when
    /// neither is given. A problem names where it came from and never quotes it.
    /// </summary>
    internal static string? ReadKey(string? path, string fileOption, string env, string what, out string? key)
    {
        key = null;
        string? text;
        string origin;
        if (path is not null)
        {
            origin = $"{fileOption} '{path}'";
            try
            {
                text = File.ReadAllText(path).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                return $"{origin} cannot be read ({e.Message}); give a readable file holding the {what}";
            }
        }
        else
        {
            origin = $"env {env}";
            text = Environment.GetEnvironmentVariable(env)?.Trim();
            if (string.IsNullOrEmpty(text))
            {
                return null;
            }
        }

        if (text.Length < ConfiguredKey.MinLength)
        {
            return $"the {what} from {origin} has {text.Length} characters; give at least {ConfiguredKey.MinLength} (e.g. openssl rand -base64 32)";
        }

        key = text;
        return null;
    }

    private string? Check(ParseResult result)
    {
        var configDir = result.GetValue(_configDir);
        if (configDir is not null && !Directory.Exists(configDir) && !File.Exists(configDir))
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

        foreach (var port in new[] { _siloPort, _gatewayPort })
        {
            if (result.GetValue(port) is < 1 or > 65535)
            {
                return $"{port.Name} {result.GetValue(port)} is not a port; give a number from 1 to 65535";
            }
        }

        if (result.GetValue(_siloPort) == result.GetValue(_gatewayPort))
        {
            return "--silo-port and --gateway-port must differ";
        }

        foreach (var limit in new[] { _apiRateLimit, _apiRateLimitPerSource })
        {
            if (result.GetValue(limit) < 0)
            {
                return $"{limit.Name} {result.GetValue(limit)} is negative; give requests per second, or 0 for no limit";
            }
        }

        var primary = result.GetValue(_primarySilo);
        if (primary is not null && (!IPEndPoint.TryParse(primary, out var endpoint) || endpoint.Port == 0))
        {
            return $"--primary-silo '{primary}' is not an address:port, e.g. 127.0.0.1:11111";
        }

        if (primary is not null && result.GetValue(_clustering) != "localhost")
        {
            return "--primary-silo only applies to --clustering localhost; with azure, silos find each other in the membership table";
        }

        if (string.IsNullOrWhiteSpace(result.GetValue(_clusterId)) || string.IsNullOrWhiteSpace(result.GetValue(_serviceId)))
        {
            return "--cluster-id and --service-id must not be empty";
        }

        Networks(result, _allowUpstream, out var rangeProblem);
        Networks(result, _proxyProtocolTrusted, out var trustedProblem);
        return rangeProblem ?? trustedProblem ?? _shared.Validate(result) ?? _keyVault.Check(result) ?? _kubernetes.Check(result, result.GetValue(_clustering) == "azure");
    }

    /// <summary>The ranges of a repeatable CIDR option; a range that does not read is a problem naming it (and is left out).</summary>
    private static ImmutableArray<IPNetwork> Networks(ParseResult result, Option<string[]> option, out string? problem)
    {
        problem = null;
        var networks = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var text in result.GetValue(option) ?? [])
        {
            if (Addresses.TryParseNetwork(text, out var network, out var error))
            {
                networks.Add(network);
            }
            else
            {
                problem ??= $"{option.Name} {error}";
            }
        }

        return networks.ToImmutable();
    }

    /// <summary>--log-level, else env OGW_LOG_LEVEL; null when neither is given (the configuration's level stays).</summary>
    private string? LogLevelOf(ParseResult result, out LogLevel? level)
    {
        level = null;
        var (text, origin) = result.GetValue(_logLevel) is { } given ? (given, "--log-level")
            : Environment.GetEnvironmentVariable("OGW_LOG_LEVEL") is { Length: > 0 } env ? (env, "env OGW_LOG_LEVEL")
            : (null, "");
        if (text is null)
        {
            return null;
        }

        if (!Enum.TryParse<LogLevel>(text, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(text, out _))
        {
            return $"{origin} '{text}' is not a level; give trace, debug, information, warning, error, critical or none";
        }

        level = parsed;
        return null;
    }

    /// <summary>
    /// --storage-endpoint, else env OGW_STORAGE_ENDPOINT: an https URL (the SDK sends a bearer token over https only),
    /// never together with a connection string. Null when neither is given.
    /// </summary>
    private string? StorageEndpointOf(ParseResult result, out Uri? endpoint)
    {
        endpoint = null;
        var (text, origin) = result.GetValue(_storageEndpoint) is { } given ? (given, "--storage-endpoint")
            : Environment.GetEnvironmentVariable("OGW_STORAGE_ENDPOINT") is { Length: > 0 } env ? (env, "env OGW_STORAGE_ENDPOINT")
            : (null, "");
        if (text is null)
        {
            return null;
        }

        var connectionString = result.GetValue(_connectionString) is not null ? "--storage-connection-string"
            : Environment.GetEnvironmentVariable("OGW_STORAGE_CONNECTION_STRING") is { Length: > 0 } ? "env OGW_STORAGE_CONNECTION_STRING"
            : null;
        if (connectionString is not null)
        {
            return $"{connectionString} and {origin} both name the table storage; give one (the endpoint signs in with DefaultAzureCredential, " +
                "the connection string with its key)";
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.Query.Length > 0)
        {
            return $"{origin} '{text}' is not an https URL without a query; give the account's Table endpoint, " +
                "e.g. https://myaccount.table.core.windows.net";
        }

        endpoint = uri;
        return null;
    }

    private static string DefaultConnectionString() =>
        Environment.GetEnvironmentVariable("OGW_STORAGE_CONNECTION_STRING") is { Length: > 0 } value ? value : "UseDevelopmentStorage=true";

    /// <summary>Validated at parse time, so parsing here always succeeds.</summary>
    private static TimeSpan DurationOf(ParseResult result, Option<string> option)
        => Duration.TryParse(result.GetValue(option)!, out var value) ? value : TimeSpan.Zero;

    private static Option<int> LimitOption(string name, int defaultValue, string description)
    {
        var option = new Option<int>(name)
        {
            Description = $"{description} 0: no limit.",
            HelpName = "count",
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(result =>
        {
            // A value that is not a number is System.CommandLine's own error; this one only checks the sign.
            if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, System.Globalization.CultureInfo.InvariantCulture, out var value) && value < 0)
            {
                result.AddError($"{name} {value} is negative; give a number of connections, or 0 for no limit");
            }
        });
        return option;
    }

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
