using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// A private Azurite (Table service) started from the project's tools/azurite on a free port with its own data folder,
/// for the tests that need real Azure Table storage; stopped and deleted at the end.
/// </summary>
public class AzuriteFixture : IAsyncLifetime
{
    // The emulator's well-known development account (public, the same in every Azurite).
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _dataDir = Directory.CreateTempSubdirectory("ogw-azurite-").FullName;
    private readonly bool _oauth;
    private int _port;

    public AzuriteFixture()
        : this(oauth: false)
    {
    }

    /// <param name="oauth">Serve HTTPS with a self-signed <see cref="Certificate"/> and accept bearer tokens (<c>--oauth basic</c>).</param>
    protected AzuriteFixture(bool oauth) => _oauth = oauth;

    /// <summary>With OAuth: the emulator's HTTPS certificate (for 127.0.0.1), which clients must trust.</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>The development account's Table endpoint, the form <c>--storage-endpoint</c> takes.</summary>
    public Uri TableEndpoint => new($"{(_oauth ? "https" : "http")}://127.0.0.1:{_port}/devstoreaccount1");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};TableEndpoint=http://127.0.0.1:{_port}/devstoreaccount1;";

    public async ValueTask InitializeAsync()
    {
        _port = Ports.Free();
        if (_oauth)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            Certificate = X509CertificateLoader.LoadCertificate(created.Export(X509ContentType.Cert));
            await File.WriteAllTextAsync(Path.Combine(_dataDir, "cert.pem"), created.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(_dataDir, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        await StartAsync();
    }

    /// <summary>Starts the emulator (again, after <see cref="StopAsync"/>) on the same port with the same data.</summary>
    public async Task StartAsync()
    {
        var (exit, output) = await RunScriptAsync("start.sh");
        if (exit != 0)
        {
            throw new InvalidOperationException(
                $"tools/azurite/start.sh failed (exit {exit}); the storage tests need node and npm (apt-get install nodejs npm) " +
                $"and the azurite package from tools/azurite/package-lock.json:\n{output}");
        }
    }

    /// <summary>Stops the emulator, keeping its data: a storage outage.</summary>
    public async Task StopAsync() => await RunScriptAsync("stop.sh");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Certificate?.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans temp eventually.
        }
    }

    private async Task<(int Exit, string Output)> RunScriptAsync(string script)
    {
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(RepositoryRoot(), "tools", "azurite", script) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["AZURITE_TABLE_PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["AZURITE_DIR"] = _dataDir;
        if (_oauth)
        {
            start.Environment["AZURITE_CERT"] = Path.Combine(_dataDir, "cert.pem");
            start.Environment["AZURITE_KEY"] = Path.Combine(_dataDir, "key.pem");
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();

        // npm ci on a fresh machine takes a while; the emulator itself answers within seconds.
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return (process.ExitCode, await output + await error);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tools", "azurite", "start.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no tools/azurite/start.sh above {AppContext.BaseDirectory}");
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "azurite";
}

/// <summary>An Azurite over HTTPS that accepts OAuth bearer tokens: the Table endpoint <c>--storage-endpoint</c> reaches.</summary>
public sealed class OAuthAzuriteFixture() : AzuriteFixture(oauth: true);
