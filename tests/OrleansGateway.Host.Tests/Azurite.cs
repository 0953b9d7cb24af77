using System.Diagnostics;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// A private Azurite (Table service) started from the project's tools/azurite on a free port with its own data folder,
/// for the tests that need real Azure Table storage; stopped and deleted at the end.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    // The emulator's well-known development account (public, the same in every Azurite).
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _dataDir = Directory.CreateTempSubdirectory("ogw-azurite-").FullName;
    private int _port;

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};TableEndpoint=http://127.0.0.1:{_port}/devstoreaccount1;";

    public async ValueTask InitializeAsync()
    {
        _port = Ports.Free();
        var (exit, output) = await RunScriptAsync("start.sh");
        if (exit != 0)
        {
            throw new InvalidOperationException(
                $"tools/azurite/start.sh failed (exit {exit}); the storage tests need node and npm (apt-get install nodejs npm) " +
                $"and the azurite package from tools/azurite/package-lock.json:\n{output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await RunScriptAsync("stop.sh");
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
