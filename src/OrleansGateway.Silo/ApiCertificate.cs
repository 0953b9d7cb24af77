using System.Net.Security;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using OrleansGateway.Certificates;
using OrleansGateway.KeyVault;

namespace OrleansGateway.Silo;

/// <summary>
/// The certificate the API serves over HTTPS (docs/api.md, "Serving the API"): read from <c>--api-certificate</c> once,
/// or from <c>--api-key-vault-certificate</c> by <see cref="ApiCertificateRefresh"/>, which swaps it when the vault
/// has a new version. Kestrel asks for it at every handshake, so a rotation reaches the next connection.
/// </summary>
internal sealed partial class ApiCertificate(ILogger<ApiCertificate> logger)
{
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SslStreamCertificateContext? _current;

    /// <summary>Serves HTTPS on every endpoint of <c>--api-url</c> (only https URLs pass the command line with a certificate).</summary>
    public static void Serve(WebApplicationBuilder builder, GatewaySettings settings)
    {
        var serving = settings.ApiServing;
        if (!serving.Https)
        {
            return;
        }

        builder.Services.AddSingleton<ApiCertificate>();
        if (serving.KeyVaultCertificate is not null)
        {
            builder.Services.AddKeyVaultClient(settings.KeyVault!);
            builder.Services.AddHostedService<ApiCertificateRefresh>();
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
        {
            var certificate = kestrel.ApplicationServices.GetRequiredService<ApiCertificate>();
            if (serving.Certificate is { } material && !certificate.InService && certificate.Use(material, "file", DateTimeOffset.UtcNow) is { } problem)
            {
                // Checked on the command line already; only a certificate that expired since gets here.
                throw new InvalidOperationException($"--api-certificate cannot be served: {problem}");
            }

            listen.UseHttps(new TlsHandshakeCallbackOptions { OnConnection = c => certificate.OptionsAsync(c.CancellationToken) });
        }));
    }

    private bool InService => Volatile.Read(ref _current) is not null;

    /// <summary>Puts <paramref name="material"/> in service; null when it is, else why not (the previous one stays).</summary>
    public string? Use(CertificateMaterial material, string version, DateTimeOffset now)
    {
        if (CertificateFiles.Check(material, now, out var info) is { } problem)
        {
            return problem;
        }

        try
        {
            Volatile.Write(ref _current, CertificateFiles.ToServerContext(material));
        }
        catch (FormatException e)
        {
            return e.Message;
        }

        LogInService(logger, info!.Subject, version, info.NotAfter);
        _first.TrySetResult();
        return null;
    }

    /// <summary>The TLS options of one handshake: the certificate in service, waiting for the first one (within Kestrel's handshake timeout).</summary>
    private async ValueTask<SslServerAuthenticationOptions> OptionsAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _current) is null)
        {
            await _first.Task.WaitAsync(cancellationToken);
        }

        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = Volatile.Read(ref _current),
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The API serves HTTPS with certificate {Subject} (version {Version}, valid until {NotAfter:u})")]
    private static partial void LogInService(ILogger logger, string subject, string version, DateTimeOffset notAfter);
}

/// <summary>
/// Reads <c>--api-key-vault-certificate</c> from the vault at start and every <c>--certificate-refresh</c>; a new version
/// is checked as tenants' vault certificates are (docs/key-vault.md) and replaces the served one only when it passes.
/// </summary>
internal sealed partial class ApiCertificateRefresh(
    ApiCertificate certificate, KeyVaultCertificateSource vault, GatewaySettings settings, TimeProvider time, ILogger<ApiCertificateRefresh> logger)
    : BackgroundService
{
    /// <summary>Until the first certificate is in service, the API answers no HTTPS request: try again sooner than the refresh.</summary>
    private static readonly TimeSpan FirstReadRetry = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var name = settings.ApiServing.KeyVaultCertificate!;
        var refresh = settings.KeyVault!.RefreshInterval;
        string? known = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var read = await vault.FetchAsync(name, known, stoppingToken);
                if (read is null)
                {
                    LogProblem(logger, name, "the vault has no certificate of that name; import it (az keyvault certificate import)");
                }
                else if (read.Material is { } material)
                {
                    var problem = certificate.Use(material, read.Version, time.GetUtcNow());
                    if (problem is null)
                    {
                        known = read.Version;
                    }
                    else
                    {
                        LogProblem(logger, name, $"version {read.Version} is not served: {problem}");
                    }
                }
            }
            catch (CertificateSourceException e)
            {
                LogProblem(logger, name, e.Message);
            }

            try
            {
                await Task.Delay(known is null ? TimeSpan.FromTicks(Math.Min(refresh.Ticks, FirstReadRetry.Ticks)) : refresh, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The API's certificate {Name} from Key Vault: {Problem}; the one in service (if any) stays")]
    private static partial void LogProblem(ILogger logger, string name, string problem);
}
