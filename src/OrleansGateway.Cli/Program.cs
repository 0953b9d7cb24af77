using System.CommandLine;
using OrleansGateway.Cli.Commands;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli;

/// <summary><c>ogw</c>: offline checks and small tools around the gateway.</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>The whole CLI with its output captured; what tests call.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("ogw: check OrleansGateway resources offline and run small helpers for trying the gateway.")
        {
            CheckCommand.Create(output, error),
            DevCertCommand.Create(output, error),
            EchoCommand.Create(output),
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
