using OrleansGateway.Silo;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>The gateway's Key Vault options: documented, validated with a message naming the option, and read.</summary>
public sealed class KeyVaultCommandLineTests
{
    [Fact]
    public async Task Help_documents_the_vault_options()
    {
        var output = new StringWriter();
        var exit = await Program.RunAsync(["--help"], output, new StringWriter(), CancellationToken.None);

        Assert.Equal(0, exit);
        foreach (var option in new[] { "--key-vault-uri", "--key-vault-prefix", "--certificate-refresh" })
        {
            Assert.Matches($@"{option} <[^>]+>.*\S", output.ToString());
        }
    }

    [Theory]
    [InlineData("--key-vault-uri", "http://my-vault.vault.azure.net/", "--key-vault-uri 'http://my-vault.vault.azure.net/' is not an https URL")]
    [InlineData("--key-vault-uri", "my-vault", "--key-vault-uri 'my-vault' is not an https URL")]
    [InlineData("--key-vault-prefix", "og-w", "--key-vault-prefix 'og-w' must be 1-24 letters or digits")]
    [InlineData("--certificate-refresh", "5s", "--certificate-refresh '5s' is not a duration of at least 10s")]
    [InlineData("--certificate-refresh", "soon", "not a duration")]
    public async Task A_bad_value_is_refused_naming_the_option(string option, string value, string expected)
    {
        var error = new StringWriter();
        var exit = await Program.RunAsync([option, value, "--storage", "memory"], new StringWriter(), error, CancellationToken.None);

        Assert.NotEqual(0, exit);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_become_the_vault_settings()
    {
        var commandLine = new GatewayCommandLine();
        var parsed = commandLine.Root.Parse(["--key-vault-uri", "https://my-vault.vault.azure.net/", "--key-vault-prefix", "prod", "--certificate-refresh", "30s"]);

        var settings = commandLine.Read(parsed, out var problem);

        Assert.Null(problem);
        Assert.Equal(new Uri("https://my-vault.vault.azure.net/"), settings.KeyVault!.VaultUri);
        Assert.Equal("prod", settings.KeyVault.Prefix);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.KeyVault.RefreshInterval);
        Assert.Null(commandLine.Read(commandLine.Root.Parse([]), out _).KeyVault);
    }
}
