using System.CommandLine;
using OrleansGateway.Cli.Client;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw whoami</c>: whether the key is the admin key or which tenant's key it is.</summary>
internal static class WhoamiCommand
{
    public static Command Create(ClientContext context)
    {
        var command = new Command("whoami", "Show what the key reaches: the admin key (every tenant) or one tenant (and the key's id).");
        ClientSession.Bind(command, "ogw whoami", context, tenantScoped: false, async (session, _, cancellationToken) =>
        {
            var response = await session.CallAsync(HttpMethod.Get, "api/v1/whoami", cancellationToken);
            session.Print(response, who => session.Output.WriteLine(
                Views.String(who, "role") == "admin"
                    ? $"admin key of {session.Settings.Server} (reaches every tenant)"
                    : $"tenant '{Views.Value(who, "tenant")}' (key {Views.Value(who, "keyId")}) on {session.Settings.Server}"));
            return ClientExitCodes.Ok;
        });
        return command;
    }
}
