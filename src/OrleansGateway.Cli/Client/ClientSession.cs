using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.Json;
using OrleansGateway.Cli.Commands;

namespace OrleansGateway.Cli.Client;

/// <summary>What every client command needs from its caller: where to print and how to read the environment.</summary>
internal sealed record ClientContext(TextWriter Output, TextWriter Error, Func<string, string?> Environment);

internal delegate Task<int> ClientAction(ClientSession session, ParseResult result, CancellationToken cancellationToken);

/// <summary>A request the client cannot go on from: what to print and which exit code to return.</summary>
internal sealed class ClientFailureException(int exitCode, string message, ApiResponse? response = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>The refusing answer, printed as it came for <c>-o json|yaml</c> so scripts can read its diagnostics.</summary>
    public ApiResponse? Response { get; } = response;
}

/// <summary>One client command's run: its settings, its API connection, and the rules for turning answers into output and exit codes.</summary>
internal sealed class ClientSession : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private ClientSession(string commandName, ClientSettings settings, ClientContext context)
    {
        CommandName = commandName;
        Settings = settings;
        Output = context.Output;
        Error = context.Error;
        Api = new ApiClient(settings.Server, settings.Token, RequestTimeout);
    }

    public string CommandName { get; }

    public ClientSettings Settings { get; }

    public ApiClient Api { get; }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>Adds the client options to <paramref name="command"/> and runs <paramref name="action"/> in a session.</summary>
    public static void Bind(Command command, string commandName, ClientContext context, bool tenantScoped, ClientAction action)
    {
        var options = new ClientOptions();
        options.AddTo(command, tenantScoped);
        command.SetAction(async (result, cancellationToken) =>
        {
            var (settings, problem) = options.Resolve(result, context.Environment);
            if (settings is null)
            {
                context.Error.WriteLine($"{commandName}: {problem}");
                return ClientExitCodes.Usage;
            }

            using var session = new ClientSession(commandName, settings, context);
            try
            {
                return await action(session, result, cancellationToken);
            }
            catch (ApiUnreachableException e)
            {
                context.Error.WriteLine(
                    $"{commandName}: cannot reach the gateway at {e.Server}: {e.Message}. "
                    + "Check that it runs and that --server or OGW_SERVER names its API URL.");
                return ClientExitCodes.Unavailable;
            }
            catch (ClientFailureException e)
            {
                if (e.Response is { } response && settings.Format != OutputFormat.Table && response.Json() is { } json)
                {
                    session.Print(response.Body, json);
                }

                context.Error.WriteLine($"{commandName}: {e.Message}");
                return e.ExitCode;
            }
        });
    }

    /// <summary>Sends a request; a refusal becomes a <see cref="ClientFailureException"/> with the exit code docs/api.md gives it.</summary>
    public async Task<ApiResponse> CallAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        var response = await Api.SendAsync(method, path, content, cancellationToken);
        return response.IsSuccess ? response : throw Failure(response);
    }

    public Task<ApiResponse> CallAsync(HttpMethod method, string path, CancellationToken cancellationToken)
        => CallAsync(method, path, null, cancellationToken);

    /// <summary>A JSON body for a request, serialized as the API reads it (camelCase).</summary>
    public static StringContent JsonBody(object body) =>
        new(JsonSerializer.Serialize(body, ApiJson.Options), Encoding.UTF8, "application/json");

    /// <summary><c>--tenant</c>/<c>OGW_TENANT</c>, else the tenant of the key as <c>whoami</c> tells.</summary>
    public async Task<string> TenantAsync(CancellationToken cancellationToken)
    {
        if (Settings.Tenant is { } tenant)
        {
            return tenant;
        }

        var whoami = (await CallAsync(HttpMethod.Get, "api/v1/whoami", cancellationToken)).Json();
        if (whoami is { ValueKind: JsonValueKind.Object } who
            && who.TryGetProperty("tenant", out var name) && name.ValueKind == JsonValueKind.String)
        {
            return name.GetString()!;
        }

        throw new ClientFailureException(
            ClientExitCodes.Usage,
            "no tenant given, and the key is the admin key, which reaches every tenant; pass --tenant or set OGW_TENANT.");
    }

    /// <summary>Prints a successful answer: as it came for json, converted for yaml, through <paramref name="table"/> for people.</summary>
    public void Print(ApiResponse response, Action<JsonElement> table)
    {
        var json = response.Json();
        if (json is null)
        {
            return;
        }

        if (Settings.Format == OutputFormat.Table)
        {
            table(json.Value);
        }
        else
        {
            Print(response.Body, json.Value);
        }
    }

    /// <summary>Prints <paramref name="json"/> (whose text is <paramref name="body"/>) as json or yaml.</summary>
    public void Print(string body, JsonElement json)
    {
        if (Settings.Format == OutputFormat.Yaml)
        {
            YamlWriter.Write(json, Output);
        }
        else
        {
            Output.WriteLine(body.TrimEnd());
        }
    }

    public void Dispose() => Api.Dispose();

    private ClientFailureException Failure(ApiResponse response)
    {
        var problem = Problem.From(response);
        var status = $"{(int)response.Status} {Reason(response.Status)}";
        var detail = problem.Detail ?? problem.Title;
        var said = detail is null ? "" : $": {detail.TrimEnd('.')}";
        switch (response.Status)
        {
            case HttpStatusCode.Unauthorized:
                var what = Settings.Token is null
                    ? $"the gateway at {Settings.Server} needs a key and none was given ({status}{said}). Pass --token or set OGW_TOKEN."
                    : $"the gateway at {Settings.Server} did not accept the key ({status}{said}). Check --token or OGW_TOKEN.";
                return new ClientFailureException(ClientExitCodes.Unauthorized, what, response);
            case HttpStatusCode.Forbidden:
                var whose = TenantKey.TenantOf(Settings.Token) is { } tenant ? $"tenant '{tenant}'s key" : "this key";
                return new ClientFailureException(
                    ClientExitCodes.Unauthorized,
                    $"{whose} may not do this ({status}{said}): a tenant key reaches only its own tenant; "
                    + "use the admin key, or a key of the tenant you act on.",
                    response);
        }

        if ((int)response.Status >= 500)
        {
            return new ClientFailureException(
                ClientExitCodes.Unavailable, $"the gateway at {Settings.Server} failed ({status}{said}); try again, or see its log.", response);
        }

        // "Refused" fits a request the server judged (400, 409, 422); a 404 only says something is not there.
        var text = new StringBuilder(response.Status == HttpStatusCode.NotFound ? $"not found ({status}){said}." : $"refused ({status}){said}.");
        foreach (var diagnostic in problem.Diagnostics)
        {
            text.Append('\n').Append("  ").Append(DiagnosticText.Line(diagnostic));
        }

        return new ClientFailureException(ClientExitCodes.Refused, text.ToString(), response);
    }

    private static string Reason(HttpStatusCode status) => status switch
    {
        HttpStatusCode.UnprocessableEntity => "Unprocessable Content",
        HttpStatusCode.RequestEntityTooLarge => "Content Too Large",
        _ => System.Text.RegularExpressions.Regex.Replace(status.ToString(), "(?<=[a-z])(?=[A-Z])", " "),
    };
}
