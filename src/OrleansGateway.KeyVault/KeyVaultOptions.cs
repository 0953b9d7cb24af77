using Azure.Core;

namespace OrleansGateway.KeyVault;

/// <summary>Where the gateway's certificates live in Azure Key Vault and how often they are read again.</summary>
public sealed class KeyVaultOptions
{
    /// <summary>Every minute: a rotated certificate is served to new handshakes within a minute (the bound).</summary>
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromMinutes(1);

    /// <summary>The vault, e.g. <c>https://my-vault.vault.azure.net/</c> (<c>--key-vault-uri</c>); must be https.</summary>
    public required Uri VaultUri { get; init; }

    /// <summary>The installation's part of every certificate name (<see cref="KeyVaultNames"/>), letters and digits.</summary>
    public string Prefix { get; init; } = "ogw";

    /// <summary>How often each certificate's current version is checked (one small GET; the key is read only when it changed).</summary>
    public TimeSpan RefreshInterval { get; init; } = DefaultRefreshInterval;

    /// <summary>
    /// Accept a bearer challenge whose resource is not a <c>*.vault.azure.net</c> host: only for a vault stand-in on
    /// loopback in tests.
    /// </summary>
    public bool DisableChallengeResourceVerification { get; init; }

    /// <summary>Adjusts both SDK clients' options (tests: the transport that trusts the stand-in, short retry delays).</summary>
    public Action<ClientOptions>? ConfigureClient { get; init; }
}
