using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;

namespace OrleansGateway.KeyVault.Tests.TestSupport;

/// <summary>
/// One vault stand-in and a one-silo in-process cluster whose certificate source is the real Key Vault source
/// (real SDK clients) pointed at it, with reminders in memory and every log line captured.
/// </summary>
public sealed class VaultCluster : IAsyncLifetime
{
    public const string AmbassadorId = "default";

    public SharedStore Store { get; } = new();

    public CapturedLogs Logs { get; } = new();

    public VaultStandIn Vault { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>();

    public async ValueTask InitializeAsync()
    {
        Vault = await VaultStandIn.StartAsync();
        var builder = new InProcessTestClusterBuilder(1);
        var store = Store;
        var logs = Logs;
        var options = Vault.Options();
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSerializer(s => s.AddGatewayModelSerializer());
            silo.Services.AddGrainStorage(GatewayStorage.Name, (sp, _) => store.For(sp.GetRequiredService<Serializer>()));
            silo.Services.Configure<ControlPlaneOptions>(o => o.AmbassadorId = AmbassadorId);
            silo.Services.AddKeyVaultCertificates(options, new FixedTokenCredential());
            silo.Services.AddLogging(l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
            silo.UseInMemoryReminderService();
        });
        builder.ConfigureClient(client => client.Services.AddSerializer(s => s.AddGatewayModelSerializer()));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Vault.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class VaultCollection : ICollectionFixture<VaultCluster>
{
    public const string Name = "vault";
}
