using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OrleansGateway.Certificates;

namespace OrleansGateway.KeyVault;

public static class KeyVaultServices
{
    /// <summary>
    /// Makes Azure Key Vault the silo's <see cref="ICertificateSource"/>. Without <paramref name="credential"/> the
    /// SDK's <see cref="DefaultAzureCredential"/> is used: a managed identity in Azure, a developer login locally.
    /// The silo must also have a reminder service (certificates are refreshed on reminders).
    /// </summary>
    public static IServiceCollection AddKeyVaultCertificates(this IServiceCollection services, KeyVaultOptions options, TokenCredential? credential = null)
    {
        AddKeyVaultClient(services, options, credential);
        return services.AddSingleton<ICertificateSource>(sp => sp.GetRequiredService<KeyVaultCertificateSource>());
    }

    /// <summary>
    /// The vault's client (<see cref="KeyVaultCertificateSource"/>) alone, for certificates the gateway itself serves
    /// (the API's); once per process whoever asks for it.
    /// </summary>
    public static IServiceCollection AddKeyVaultClient(this IServiceCollection services, KeyVaultOptions options, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(sp => new KeyVaultCertificateSource(
            options, credential ?? new DefaultAzureCredential(), sp.GetRequiredService<ILogger<KeyVaultCertificateSource>>()));
        return services;
    }
}
