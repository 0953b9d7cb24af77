using OrleansGateway.Api;
using OrleansGateway.Certificates;
using OrleansGateway.KeyVault;

namespace OrleansGateway.Silo;

/// <summary>
/// The admin key read from <c>--admin-key-vault-secret</c> in <c>--key-vault-uri</c> (docs/api.md, "Serving the API").
/// A hosted service started before the silo and the HTTP server, so the API never answers without the key it was told
/// to use; a secret that is missing, too short or unreadable stops the start with a message that names it (never its
/// value). Read once: a rotated key is used after a restart (docs/deploy.md, "Rotating keys and certificates").
/// </summary>
internal sealed partial class AdminKeyFromVault(KeyVaultCertificateSource vault, GatewaySettings settings, ILogger<AdminKeyFromVault> logger) : IHostedService
{
    private AdminKey? _key;

    /// <summary>The key; throws before <see cref="StartAsync"/> has read it (nothing asks before the server starts).</summary>
    public AdminKey Key => _key ?? throw new InvalidOperationException("the admin key is read from Key Vault when the gateway starts, and it has not started");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var name = settings.ApiServing.AdminKeyVaultSecret!;
        string? value;
        try
        {
            value = (await vault.ReadSecretAsync(name, cancellationToken))?.Trim();
        }
        catch (CertificateSourceException e)
        {
            throw new StartFailure($"--admin-key-vault-secret '{name}': {e.Message}");
        }

        if (value is null)
        {
            throw new StartFailure($"--admin-key-vault-secret '{name}': the vault {settings.KeyVault!.VaultUri} has no secret of that name; " +
                "create it (az keyvault secret set --name ... --value \"$(openssl rand -base64 33)\") or name another");
        }

        if (value.Length < ConfiguredKey.MinLength)
        {
            throw new StartFailure($"--admin-key-vault-secret '{name}': the secret has {value.Length} characters; give at least " +
                $"{ConfiguredKey.MinLength} (e.g. openssl rand -base64 33)");
        }

        _key = new AdminKey(value);
        LogRead(logger, name);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "The admin key is the Key Vault secret {Name}")]
    private static partial void LogRead(ILogger logger, string name);
}

/// <summary>The gateway cannot start as configured; the message says why and what to do (printed as a usage error is).</summary>
internal sealed class StartFailure(string message) : Exception(message);
