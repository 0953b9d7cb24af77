using System.CommandLine;
using System.Text.Json;
using OrleansGateway.Cli.Client;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw tenants ...</c> and <c>ogw tenants keys ...</c>: the admin's commands (docs/api.md, Tenants).</summary>
internal static class TenantsCommand
{
    private const string Tenants = "api/v1/tenants";

    public static Command Create(ClientContext context)
    {
        var keys = new Command("keys", "List, issue and revoke a tenant's API keys (admin key).")
        {
            KeysList(context),
            KeysIssue(context),
            KeysRevoke(context),
        };
        return new Command("tenants", "List, create, change and delete tenants and their quotas (admin key).")
        {
            List(context),
            Get(context),
            CreateOrUpdate(context, update: false),
            CreateOrUpdate(context, update: true),
            Delete(context),
            keys,
        };
    }

    private static Argument<string> Name(string description = "Tenant name (a DNS label: a-z, 0-9, '-').") => new("NAME") { Description = description };

    private static Command List(ClientContext context)
    {
        var command = new Command("list", "List the tenants with their quota, resource and key counts.");
        ClientSession.Bind(command, "ogw tenants list", context, tenantScoped: false, async (session, _, cancellationToken) =>
        {
            var response = await session.CallAsync(HttpMethod.Get, Tenants, cancellationToken);
            session.Print(response, tenants =>
            {
                var rows = tenants.EnumerateArray().Select(t => new[]
                {
                    Views.Value(t, "name"), Views.Value(t, "version"), Views.Value(t, "resources"), Views.Value(t, "keys"),
                    Views.Value(t, "createdAt"), Views.Quota(Views.Object(t, "quota")),
                }).ToList();
                if (rows.Count == 0)
                {
                    session.Output.WriteLine("No tenants.");
                    return;
                }

                Views.Table(session.Output, ["NAME", "VERSION", "RESOURCES", "KEYS", "CREATED", "QUOTA"], rows);
            });
            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static Command Get(ClientContext context)
    {
        var name = Name();
        var command = new Command("get", "Show one tenant.") { name };
        ClientSession.Bind(command, "ogw tenants get", context, tenantScoped: false, async (session, result, cancellationToken) =>
        {
            var response = await session.CallAsync(HttpMethod.Get, $"{Tenants}/{Views.Segment(result.GetValue(name)!)}", cancellationToken);
            session.Print(response, tenant => WriteTenant(tenant, session.Output));
            return ClientExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>create NAME [QUOTA]</c>, or <c>update NAME [QUOTA]</c>, which replaces the whole quota (a limit not given is lifted).</summary>
    private static Command CreateOrUpdate(ClientContext context, bool update)
    {
        var name = Name();
        var quota = new QuotaOptions();
        var command = update
            ? new Command("update", "Replace the tenant's whole quota (as PUT /api/v1/tenants/NAME): ports, upstreams and hosts not given " +
                "grant nothing, limits not given are lifted; --unlimited makes everything not given unlimited.") { name }
            : new Command("create", "Create a tenant with the quota the options give. Without any it may use nothing (no port, upstream or " +
                "host) until an admin grants it; --unlimited grants everything not given.") { name };
        quota.AddTo(command);
        var commandName = $"ogw tenants {command.Name}";
        ClientSession.Bind(command, commandName, context, tenantScoped: false, async (session, result, cancellationToken) =>
        {
            var tenant = result.GetValue(name)!;
            var limits = quota.From(result);
            var response = update
                ? await session.CallAsync(HttpMethod.Put, $"{Tenants}/{Views.Segment(tenant)}", ClientSession.JsonBody(new { quota = limits }), cancellationToken)
                : await session.CallAsync(HttpMethod.Post, Tenants, ClientSession.JsonBody(limits.Count == 0
                    ? new Dictionary<string, object?> { ["name"] = tenant }
                    : new Dictionary<string, object?> { ["name"] = tenant, ["quota"] = limits }), cancellationToken);
            session.Print(response, t =>
            {
                session.Output.WriteLine(update ? $"Updated tenant '{tenant}'." : $"Created tenant '{tenant}'.");
                WriteTenant(t, session.Output);
            });
            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static Command Delete(ClientContext context)
    {
        var name = Name();
        var command = new Command("delete", "Delete a tenant with all its resources (releasing its listeners) and keys.") { name };
        ClientSession.Bind(command, "ogw tenants delete", context, tenantScoped: false, async (session, result, cancellationToken) =>
        {
            var tenant = result.GetValue(name)!;
            await session.CallAsync(HttpMethod.Delete, $"{Tenants}/{Views.Segment(tenant)}", cancellationToken);
            if (session.Settings.Format == OutputFormat.Table)
            {
                session.Output.WriteLine($"Deleted tenant '{tenant}', its resources and its keys.");
            }

            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static Command KeysList(ClientContext context)
    {
        var name = Name();
        var command = new Command("list", "List a tenant's keys (ids and descriptions; never the secrets).") { name };
        ClientSession.Bind(command, "ogw tenants keys list", context, tenantScoped: false, async (session, result, cancellationToken) =>
        {
            var response = await session.CallAsync(HttpMethod.Get, $"{Tenants}/{Views.Segment(result.GetValue(name)!)}/keys", cancellationToken);
            session.Print(response, keys =>
            {
                var rows = keys.EnumerateArray()
                    .Select(k => new[] { Views.Value(k, "id"), Views.Value(k, "createdAt"), Views.Value(k, "description", "") })
                    .ToList();
                if (rows.Count == 0)
                {
                    session.Output.WriteLine("No keys.");
                    return;
                }

                Views.Table(session.Output, ["ID", "CREATED", "DESCRIPTION"], rows);
            });
            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static Command KeysIssue(ClientContext context)
    {
        var name = Name();
        var description = new Option<string?>("--description") { Description = "What the key is for (e.g. ci), shown when listing keys." };
        var command = new Command("issue", "Issue a new key for a tenant. Its token is printed once and cannot be shown again.") { name, description };
        ClientSession.Bind(command, "ogw tenants keys issue", context, tenantScoped: false, async (session, result, cancellationToken) =>
        {
            var tenant = result.GetValue(name)!;
            var body = result.GetValue(description) is { } text ? ClientSession.JsonBody(new { description = text }) : ClientSession.JsonBody(new { });
            var response = await session.CallAsync(HttpMethod.Post, $"{Tenants}/{Views.Segment(tenant)}/keys", body, cancellationToken);
            const string Once = "This token is not shown again: store it now (e.g. export OGW_TOKEN=<token>). Lost tokens are revoked and reissued.";
            session.Print(response, key =>
            {
                session.Output.WriteLine($"Issued key {Views.Value(key, "id")} for tenant '{tenant}'.");
                session.Output.WriteLine($"token: {Views.Value(key, "token")}");
                session.Output.WriteLine(Once);
            });
            if (session.Settings.Format != OutputFormat.Table)
            {
                // stdout stays the JSON (or YAML) alone, for scripts.
                session.Error.WriteLine(Once);
            }

            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static Command KeysRevoke(ClientContext context)
    {
        var name = Name();
        var keyId = new Argument<string>("KEYID") { Description = "Id of the key (8 hex characters, as `keys list` shows)." };
        var command = new Command("revoke", "Revoke a tenant's key: it stops working at once on every silo.") { name, keyId };
        ClientSession.Bind(command, "ogw tenants keys revoke", context, tenantScoped: false, async (session, result, cancellationToken) =>
        {
            var tenant = result.GetValue(name)!;
            var id = result.GetValue(keyId)!;
            await session.CallAsync(HttpMethod.Delete, $"{Tenants}/{Views.Segment(tenant)}/keys/{Views.Segment(id)}", cancellationToken);
            if (session.Settings.Format == OutputFormat.Table)
            {
                session.Output.WriteLine($"Revoked key {id} of tenant '{tenant}'.");
            }

            return ClientExitCodes.Ok;
        });
        return command;
    }

    private static void WriteTenant(JsonElement tenant, TextWriter output)
    {
        output.WriteLine($"name:       {Views.Value(tenant, "name")}");
        output.WriteLine($"version:    {Views.Value(tenant, "version")}");
        output.WriteLine($"resources:  {Views.Value(tenant, "resources")}");
        output.WriteLine($"keys:       {Views.Value(tenant, "keys")}");
        output.WriteLine($"created:    {Views.Value(tenant, "createdAt")}");
        output.WriteLine($"quota:      {Views.Quota(Views.Object(tenant, "quota"))}");
    }
}

/// <summary>
/// <c>--ports 7000-7099,8443 --upstreams 10.0.0.0/8,*.svc.cluster.local --hosts *.example.com --max-listeners N
/// --max-mappings N --max-connections N --max-hosts N ... --unlimited</c>: the quota as the API takes it (docs/api.md, Quota). A list not
/// given is left out of the request (it grants nothing); <c>--unlimited</c> sends null (unlimited) for every field not given.
/// </summary>
internal sealed class QuotaOptions
{
    private readonly Option<string?> _ports = new("--ports")
    {
        Description = "Ports the tenant may listen on: a comma-separated list of ports and ranges, e.g. 7000-7099,8443 (not given: none).",
    };

    private readonly Option<string?> _upstreams = new("--upstreams")
    {
        Description = "Upstreams the tenant's mappings may reach: comma-separated address ranges (10.0.0.0/8, 127.0.0.1, 2001:db8::/32) and " +
            "host globs (db.example.com, *.svc.cluster.local, *). Every address a name resolves to must be in a range; loopback only by a " +
            "range inside 127.0.0.0/8 or ::1 (not given: none).",
    };

    private readonly Option<string?> _hosts = new("--hosts")
    {
        Description = "Host globs covering every SNI name the tenant may route (TCPMapping host, Host hostname, TLSContext hosts), e.g. " +
            "*.example.com; '*' also allows a mapping without host on a TLS port (not given: none).",
    };

    private readonly Option<int?> _maxListeners = new("--max-listeners") { Description = "Most listeners (address:port) the tenant may have (default: unlimited)." };

    private readonly Option<int?> _maxMappings = new("--max-mappings") { Description = "Most TCPMappings the tenant may have (default: unlimited)." };

    private readonly Option<int?> _maxConnections = new("--max-connections")
    {
        Description = "Most concurrent connections across the tenant's listeners; more are refused (default: unlimited).",
    };

    /// <summary>The fields --unlimited sends as null, besides the bounded-input limits.</summary>
    private static readonly string[] UnlimitedFields =
        ["allowedPorts", "allowedUpstreams", "allowedHosts", "maxListeners", "maxMappings", "maxConcurrentConnections"];

    private readonly Option<bool> _unlimited = new("--unlimited")
    {
        Description = "Everything not given by another option is unlimited: any port, upstream and host. Say it only for a tenant you trust.",
    };

    /// <summary>The bounded-input limits: option, API field.</summary>
    private readonly (Option<string?> Option, string Field)[] _limits =
    [
        (Limit("--max-per-apply", "Most resources one apply may send"), "maxResourcesPerApply"),
        (Limit("--max-listener-resources", "Most Listener resources"), "maxListenerResources"),
        (Limit("--max-hosts", "Most Host resources"), "maxHosts"),
        (Limit("--max-tls-contexts", "Most TLSContext resources"), "maxTlsContexts"),
        (Limit("--max-secrets", "Most Secret resources"), "maxSecrets"),
        (Limit("--max-modules", "Most Module resources"), "maxModules"),
        (Limit("--max-state-bytes", "Most bytes of stored resources"), "maxStateBytes"),
    ];

    private static Option<string?> Limit(string name, string what)
    {
        var option = new Option<string?>(name) { Description = $"{what}: a number, or 'unlimited' (default: the gateway's, docs/api.md \"Limits\")." };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } value && value != "unlimited" && !(int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
            {
                r.AddError($"{name} takes a whole number >= 0 or 'unlimited', not '{value}'.");
            }
        });
        return option;
    }

    public void AddTo(Command command)
    {
        command.Add(_ports);
        command.Add(_upstreams);
        command.Add(_hosts);
        command.Add(_maxListeners);
        command.Add(_maxMappings);
        command.Add(_maxConnections);
        command.Add(_unlimited);
        foreach (var (option, _) in _limits)
        {
            command.Add(option);
        }
    }

    /// <summary>The quota's JSON members the options give (empty when none is given and --unlimited is not).</summary>
    public Dictionary<string, object?> From(ParseResult result)
    {
        var quota = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (result.GetValue(_unlimited))
        {
            foreach (var field in UnlimitedFields.Concat(_limits.Select(l => l.Field)))
            {
                quota[field] = null;
            }
        }

        Add("allowedPorts", List(result.GetValue(_ports)));
        Add("allowedUpstreams", List(result.GetValue(_upstreams)));
        Add("allowedHosts", List(result.GetValue(_hosts)));
        Add("maxListeners", result.GetValue(_maxListeners));
        Add("maxMappings", result.GetValue(_maxMappings));
        Add("maxConcurrentConnections", result.GetValue(_maxConnections));
        foreach (var (option, field) in _limits)
        {
            if (result.GetValue(option) is { } value)
            {
                // 'unlimited' is JSON null; a limit left out is absent, so the gateway gives it its default.
                quota[field] = value == "unlimited" ? null : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return quota;

        void Add(string field, object? value)
        {
            if (value is not null)
            {
                quota[field] = value;
            }
        }

        static string[]? List(string? text) => text?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
