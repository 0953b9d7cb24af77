using System.CommandLine;
using OrleansGateway.Cli.Client;
using OrleansGateway.Cli.Commands;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli;

/// <summary><c>ogw</c>: offline checks, small helpers for trying the gateway, and the client of its management API.</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>The whole CLI with its output captured; what tests call.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
        => Run(args, output, error, Environment.GetEnvironmentVariable);

    /// <summary>
    /// As <see cref="Run(string[], TextWriter, TextWriter)"/>, with the variables the client reads (<c>OGW_SERVER</c>,
    /// <c>OGW_TOKEN</c>, <c>OGW_TENANT</c>) taken from <paramref name="environment"/> alone, so tests need not change
    /// the process environment.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, IReadOnlyDictionary<string, string> environment)
        => Run(args, output, error, name => environment.GetValueOrDefault(name));

    private static int Run(string[] args, TextWriter output, TextWriter error, Func<string, string?> environment)
    {
        var client = new ClientContext(output, error, environment);
        var root = new RootCommand(
            "ogw: check OrleansGateway resources offline, run small helpers for trying the gateway, and manage tenants and "
            + "their resources through the gateway's API (--server/OGW_SERVER, --token/OGW_TOKEN). Client exit codes: "
            + "0 success; 1 refused by the server or a file unreadable; 2 usage error; 3 key refused (401/403); 4 server unreachable or failing.")
        {
            CheckCommand.Create(output, error),
            DevCertCommand.Create(output, error),
            EchoCommand.Create(output),
            ApplyCommand.Create(client),
            GetCommand.Create(client),
            DeleteCommand.Create(client),
            StatusCommand.Create(client),
            WhoamiCommand.Create(client),
            TenantsCommand.Create(client),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var problem in parsed.Errors)
            {
                error.WriteLine($"ogw: {problem.Message}");
            }

            error.WriteLine("Run 'ogw --help' (or 'ogw COMMAND --help') for usage.");
            return ExitCodes.Usage;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
