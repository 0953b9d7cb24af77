using System.Security.Cryptography.X509Certificates;
using System.Text;
using Azure.Data.Tables;
using OrleansGateway.Grains;
using OrleansGateway.Host.Tests;
using OrleansGateway.KeyVault;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault.Tests.TestSupport;

/// <summary>
/// The real gateway in-process on Azure Table storage (a private Azurite) with a config directory and
/// <c>--key-vault-uri</c> at a stand-in, and an echo upstream: what an operator runs, with the raw table entities at hand
/// to prove what is (not) written there. Shared by a test class; tests use distinct tenants.
/// </summary>
public sealed class VaultStorageGateway : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();

    public VaultStandIn Vault { get; private set; } = null!;

    public InProcessGateway Gateway { get; private set; } = null!;

    public string ConfigDir { get; } = Directory.CreateTempSubdirectory("ogw-kv-config-").FullName;

    public EchoUpstream Upstream { get; } = new();

    public async ValueTask InitializeAsync()
    {
        await _azurite.InitializeAsync();
        Vault = await VaultStandIn.StartAsync();
        Gateway = await InProcessGateway.StartAsync(Vault, storage: _azurite.ConnectionString, configDir: ConfigDir);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Vault.DisposeAsync();
        await _azurite.DisposeAsync();
        Upstream.Dispose();
        Directory.Delete(ConfigDir, recursive: true);
    }

    public static string VaultName(string tenant, string secret) => KeyVaultNames.For("ogw", new SecretRef("default", secret) { Tenant = tenant });

    /// <summary>
    /// Every place in every table of the storage account whose value contains one of <paramref name="needles"/>: string
    /// properties as they are, binary ones as stored and as Orleans reads them (the state is Brotli-compressed,
    /// <see cref="CompressedGrainStorageSerializer"/>; a state split over <c>Data</c>, <c>Data1</c>… is joined first).
    /// </summary>
    public async Task<List<string>> FindInTablesAsync(params byte[][] needles)
    {
        var found = new List<string>();
        var service = new TableServiceClient(_azurite.ConnectionString);
        await foreach (var table in service.QueryAsync())
        {
            await foreach (var entity in service.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                var where = $"{table.Name}/{entity.PartitionKey}/{entity.RowKey}";
                var binary = entity.Keys.Where(k => entity[k] is byte[]).OrderBy(k => k.Length).ThenBy(k => k, StringComparer.Ordinal).ToList();
                var joined = binary.SelectMany(k => (byte[])entity[k]).ToArray();
                var values = entity.Keys.Where(k => entity[k] is string).Select(k => (k, Encoding.UTF8.GetBytes((string)entity[k])))
                    .Append(("binary", joined))
                    .Append(("binary, unpacked", CompressedGrainStorageSerializer.Unpack(joined).ToArray()));
                foreach (var (property, bytes) in values)
                {
                    foreach (var needle in needles.Where(n => bytes.AsSpan().IndexOf(n) >= 0))
                    {
                        found.Add($"{where} {property}: {Encoding.UTF8.GetString(needle)[..Math.Min(needle.Length, 24)]}");
                    }
                }
            }
        }

        return found;
    }

    /// <summary>
    /// What identifies the key of <paramref name="certificate"/> in any form the gateway could write it: PEM (its
    /// header, its base64 body as is and as a JSON string escapes it) and DER (PKCS#8 and SEC1).
    /// </summary>
    public static byte[][] KeyNeedles(X509Certificate2 certificate)
    {
        var key = certificate.GetECDsaPrivateKey()!;
        var body = Certs.KeyFingerprint(certificate);
        return
        [
            "PRIVATE KEY"u8.ToArray(),
            Encoding.UTF8.GetBytes(body),
            Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(body)[1..^1]),
            key.ExportPkcs8PrivateKey(),
            key.ExportECPrivateKey(),
        ];
    }

    /// <summary>In every tenant state that holds a TLS Secret (its tls.crt), and only there once unpacked: proves the scan reads that state.</summary>
    public static byte[] CertificateNeedle => "-----BEGIN CERTIFICATE-----"u8.ToArray();
}
