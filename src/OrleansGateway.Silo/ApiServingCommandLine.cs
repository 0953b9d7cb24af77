using System.CommandLine;
using OrleansGateway.Api;
using OrleansGateway.Certificates;

namespace OrleansGateway.Silo;

/// <summary>
/// How the API on <c>--api-url</c> is served and who may read <c>/status</c> and <c>/metrics</c> (docs/api.md,
/// "Serving the API"): the metrics token, the HTTPS certificate from a file or from Key Vault. Kept apart so the main
/// command line stays small.
/// </summary>
internal sealed class ApiServingCommandLine
{
    private readonly Option<string> _metricsTokenFile = new("--metrics-token-file")
    {
        Description = "File holding a read-only token for /status and /metrics (trimmed; at least 16 characters), sent as " +
            "'Authorization: Bearer <token>' (Prometheus: bearer_token_file). Default: env OGW_METRICS_TOKEN. The admin key reads them too; " +
            "without either, they answer 401.",
        HelpName = "path",

        // No DefaultValueFactory: --help prints defaults, and the token must never be printed.
    };

    private readonly Option<string> _certificate = new("--api-certificate")
    {
        Description = "Serve the API over HTTPS with this certificate: a PEM file (certificate, chain, unencrypted key) or a PFX file. " +
            "--api-url must then be https://.",
        HelpName = "path",
    };

    private readonly Option<string> _certificatePassword = new("--api-certificate-password-file")
    {
        Description = "File holding the password of the PFX given to --api-certificate (its first line).",
        HelpName = "path",
    };

    private readonly Option<string> _vaultCertificate = new("--api-key-vault-certificate")
    {
        Description = "Serve the API over HTTPS with this certificate of --key-vault-uri (its name in the vault), read again every " +
            "--certificate-refresh so a rotation is picked up. Default: env OGW_API_KEY_VAULT_CERTIFICATE. --api-url must then be https://.",
        HelpName = "name",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("OGW_API_KEY_VAULT_CERTIFICATE") is { Length: > 0 } name ? name : null!,
    };

    private readonly Option<string> _adminKeyVaultSecret = new("--admin-key-vault-secret")
    {
        Description = "Read the management API's admin key from this secret of --key-vault-uri (its name in the vault; trimmed, at least " +
            "16 characters) once at start: restart the gateway after a rotation. Default: env OGW_ADMIN_KEY_VAULT_SECRET. " +
            "Replaces --admin-key-file and env OGW_ADMIN_KEY.",
        HelpName = "name",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("OGW_ADMIN_KEY_VAULT_SECRET") is { Length: > 0 } name ? name : null!,
    };

    public IEnumerable<Option> All => [_metricsTokenFile, _certificate, _certificatePassword, _vaultCertificate, _adminKeyVaultSecret];

    /// <summary>The name of the admin key's secret in the vault (option, else env); null when none is given.</summary>
    public string? AdminKeyVaultSecret(ParseResult result) => result.GetValue(_adminKeyVaultSecret);

    /// <summary>What the options say, or a message naming the wrong one and what to give instead.</summary>
    /// <param name="apiUrl">The parsed <c>--api-url</c>: its scheme must say whether there is a certificate.</param>
    /// <param name="hasVault">Whether <c>--key-vault-uri</c> is given.</param>
    public ApiServing Read(ParseResult result, Uri apiUrl, bool hasVault, out string? problem)
    {
        problem = GatewayCommandLine.ReadKey(result.GetValue(_metricsTokenFile), "--metrics-token-file", "OGW_METRICS_TOKEN", "metrics token", out var token);
        var serving = new ApiServing(token is null ? null : new MetricsToken(token), null, result.GetValue(_vaultCertificate))
        {
            AdminKeyVaultSecret = AdminKeyVaultSecret(result),
        };
        if (serving.AdminKeyVaultSecret is { } secret && !hasVault)
        {
            problem ??= $"--admin-key-vault-secret '{secret}' needs --key-vault-uri, the vault that holds it";
        }

        var path = result.GetValue(_certificate);
        var passwordFile = result.GetValue(_certificatePassword);
        if (path is not null && serving.KeyVaultCertificate is not null)
        {
            problem ??= "--api-certificate and --api-key-vault-certificate both name the API's certificate; give one";
        }
        else if (passwordFile is not null && path is null)
        {
            problem ??= "--api-certificate-password-file is the password of --api-certificate's PFX; give --api-certificate too";
        }
        else if (serving.KeyVaultCertificate is not null && !hasVault)
        {
            problem ??= $"--api-key-vault-certificate '{serving.KeyVaultCertificate}' needs --key-vault-uri, the vault that holds it";
        }
        else if (path is not null)
        {
            serving = serving with { Certificate = ReadCertificate(path, passwordFile, ref problem) };
        }

        var https = path is not null || serving.KeyVaultCertificate is not null;
        if (https && apiUrl.Scheme != Uri.UriSchemeHttps)
        {
            problem ??= $"--api-url {apiUrl} is http but the API has a certificate (--api-certificate or --api-key-vault-certificate); " +
                $"give an https URL, e.g. https://{apiUrl.Authority}";
        }
        else if (!https && apiUrl.Scheme == Uri.UriSchemeHttps)
        {
            problem ??= $"--api-url {apiUrl} is https but the API has no certificate; give --api-certificate PATH or " +
                "--api-key-vault-certificate NAME, or an http URL";
        }

        return serving;
    }

    /// <summary>The file's certificate, checked as an upload is (readable, key matches, valid now); null and a problem otherwise.</summary>
    private static CertificateMaterial? ReadCertificate(string path, string? passwordFile, ref string? problem)
    {
        string? password = null;
        byte[] content;
        try
        {
            if (passwordFile is not null)
            {
                using var reader = new StreamReader(passwordFile);
                password = reader.ReadLine() ?? "";
            }

            content = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            problem ??= $"--api-certificate '{path}' or its password file cannot be read ({e.Message}); give readable files";
            return null;
        }

        try
        {
            var material = CertificateFiles.ReadUpload(new CertificateUpload(content, password));
            if (CertificateFiles.Check(material, DateTimeOffset.UtcNow, out _) is { } refused)
            {
                problem ??= $"--api-certificate '{path}' cannot be served: {refused}";
                return null;
            }

            return material;
        }
        catch (FormatException e)
        {
            problem ??= $"--api-certificate '{path}' cannot be read: {e.Message}";
            return null;
        }
    }
}

/// <summary>How the API is served (docs/api.md, "Serving the API").</summary>
/// <param name="MetricsToken">The read-only token of /status and /metrics; null when none is configured.</param>
/// <param name="Certificate">The HTTPS certificate read from --api-certificate; null otherwise.</param>
/// <param name="KeyVaultCertificate">The name of the HTTPS certificate in --key-vault-uri; null otherwise.</param>
internal sealed record ApiServing(MetricsToken? MetricsToken, CertificateMaterial? Certificate, string? KeyVaultCertificate)
{
    /// <summary>The name of the admin key's secret in --key-vault-uri (read at start by <see cref="AdminKeyFromVault"/>); null otherwise.</summary>
    public string? AdminKeyVaultSecret { get; init; }

    public bool Https => Certificate is not null || KeyVaultCertificate is not null;
}
