using System.CommandLine;
using OrleansGateway.KeyVault;
using OrleansGateway.Model.Loading;

namespace OrleansGateway.Silo;

/// <summary>The Key Vault options of the gateway (docs/key-vault.md): kept apart so the main command line stays small.</summary>
internal sealed class KeyVaultCommandLine
{
    private readonly Option<string> _uri = new("--key-vault-uri")
    {
        Description = "Azure Key Vault holding tenants' certificates, e.g. https://my-vault.vault.azure.net/. Secrets a mapping names " +
            "without a Secret resource are read from it (docs/key-vault.md); the identity comes from DefaultAzureCredential.",
        HelpName = "uri",
    };

    private readonly Option<string> _prefix = new("--key-vault-prefix")
    {
        Description = "This installation's prefix of every vault certificate name (1-24 letters or digits).",
        DefaultValueFactory = _ => "ogw",
    };

    private readonly Option<string> _refresh = new("--certificate-refresh")
    {
        Description = "How often each vault certificate's version is checked; a rotation is served to new handshakes within it. " +
            "A number and a unit: s, m or h; at least 10s.",
        HelpName = "duration",
        DefaultValueFactory = _ => Duration.Format(KeyVaultOptions.DefaultRefreshInterval),
    };

    public IEnumerable<Option> All => [_uri, _prefix, _refresh];

    /// <summary>Null when no vault is configured (or its URI is unusable: <see cref="Check"/> says why).</summary>
    public KeyVaultOptions? Read(ParseResult result) =>
        Uri.TryCreate(result.GetValue(_uri), UriKind.Absolute, out var uri)
            ? new KeyVaultOptions
            {
                VaultUri = uri,
                Prefix = result.GetValue(_prefix)!,
                RefreshInterval = Duration.TryParse(result.GetValue(_refresh)!, out var refresh) ? refresh : KeyVaultOptions.DefaultRefreshInterval,
            }
            : null;

    /// <summary>A message naming the wrong option and what to give instead, else null.</summary>
    public string? Check(ParseResult result)
    {
        var uri = result.GetValue(_uri);
        if (uri is not null && (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps))
        {
            return $"--key-vault-uri '{uri}' is not an https URL; give the vault's URI, e.g. https://my-vault.vault.azure.net/";
        }

        var prefix = result.GetValue(_prefix)!;
        if (!KeyVaultNames.IsValidPrefix(prefix))
        {
            return $"--key-vault-prefix '{prefix}' must be 1-24 letters or digits";
        }

        var refresh = result.GetValue(_refresh)!;
        return !Duration.TryParse(refresh, out var interval) || interval < TimeSpan.FromSeconds(10)
            ? $"--certificate-refresh '{refresh}' is not a duration of at least 10s; give e.g. 30s or 1m"
            : null;
    }
}
