using System.CommandLine;
using System.Net;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw echo --listen 127.0.0.1:9000</c>: an upstream to try the gateway against.</summary>
internal static class EchoCommand
{
    public static Command Create(TextWriter output)
    {
        var listen = new Option<IPEndPoint>("--listen")
        {
            Description = "Address and port to listen on, e.g. 127.0.0.1:9000 or [::1]:9000.",
            DefaultValueFactory = _ => new IPEndPoint(IPAddress.Loopback, 9000),
            CustomParser = argument =>
            {
                var text = argument.Tokens.Count == 1 ? argument.Tokens[0].Value : "";
                if (IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port != 0)
                {
                    return endpoint;
                }

                argument.AddError($"--listen '{text}' is not ADDRESS:PORT (e.g. 127.0.0.1:9000)");
                return null;
            },
        };

        var command = new Command("echo", "Run a TCP echo server (echoes bytes back, half-close aware) until Ctrl+C.") { listen };
        command.SetAction(async (result, cancellationToken) =>
        {
            await using var server = EchoServer.Start(result.GetValue(listen)!);
            output.WriteLine($"echo server listening on {server.Endpoint}; Ctrl+C stops it");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: a normal way to stop.
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
