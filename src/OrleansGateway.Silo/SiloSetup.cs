using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Statistics;
using Orleans.Storage;
using OrleansGateway.Grains;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.KeyVault;
using OrleansGateway.Model.Networks;

namespace OrleansGateway.Silo;

/// <summary>The Orleans side of the process: clustering, grain storage, serialization and what the role hosts.</summary>
internal static class SiloSetup
{
    public static void Configure(ISiloBuilder silo, GatewaySettings settings)
    {
        var cluster = settings.Cluster;

        // One home for the storage account's clients (connection string or endpoint and credential); tests may replace it.
        silo.Services.AddSingleton(_ => new GatewayTables(cluster));
        if (cluster.Clustering == ClusteringKind.Localhost)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, cluster.PrimarySilo, cluster.ServiceId, cluster.ClusterId);
        }
        else
        {
            silo.UseAzureStorageClustering(b => b.Configure<GatewayTables>((o, tables) => o.TableServiceClient = tables.CreateClient()));
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });

            // Silos in pods advertise the pod's address (--advertised-address, env POD_IP) and listen on every address
            // of the pod; without one, loopback: several processes on one machine (docs/control-plane.md#hosting).
            if (cluster.AdvertisedAddress is { } advertised)
            {
                silo.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
            }
            else
            {
                silo.ConfigureEndpoints(IPAddress.Loopback, cluster.SiloPort, cluster.GatewayPort);
            }
        }

        if (cluster.SiloName is { } name)
        {
            silo.Configure<SiloOptions>(o => o.SiloName = name);
        }

        silo.Services.AddSerializer(s => s.AddGatewayModelSerializer());

        // Membership runs on the system clock as Orleans sets it. Its thread-pool stall detector ticks every 100 ms and
        // counts as stall whatever time passes beyond that cadence: a clock that stretched its timer (tried for quiet when
        // idle) made a healthy silo record 0.9 s of stall every second, warn about it and treat failed probes of other
        // silos as inconclusive (docs/benchmarks.md, "Idle").

        // Quiet when idle: the silo's load statistics (used to place activations by load) are published every 10 s instead
        // of every second; the control plane's few grains do not need fresher figures.
        silo.Configure<DeploymentLoadPublisherOptions>(o => o.DeploymentLoadPublisherRefreshTime = TimeSpan.FromSeconds(10));

        // Quiet when idle: a stateless worker (Orleans' management grain, which ClusterEndpointsGrain asks for the membership)
        // checks for idle workers to remove every 10 s instead of every 500 ms, for as long as it is activated; a worker
        // idle for one such cycle is still removed.
        silo.Configure<StatelessWorkerOptions>(o => o.IdleWorkersInspectionPeriod = TimeSpan.FromSeconds(10));

        // Quiet when idle: CPU and memory figures computed when asked, not a runtime event-counter listener sampling every
        // second (ProcessStatistics says why).
        silo.Services.Replace(ServiceDescriptor.Singleton<IEnvironmentStatisticsProvider>(_ => new ProcessStatistics(TimeProvider.System)));
        silo.Services.Configure<ControlPlaneOptions>(o =>
        {
            o.AmbassadorId = settings.AmbassadorId;
            o.BindAddress = settings.Compile.BindAddress;
            o.AmbassadorNamespace = settings.Compile.AmbassadorNamespace;
            o.Egress = new GatewayEgress(settings.Proxy.AllowedUpstreamNetworks, settings.Proxy.AllowLinkLocalUpstreams);
        });

        if (cluster.HostsGrains)
        {
            ConfigureCertificateSource(silo, settings);
            if (cluster.Storage == StorageKind.Memory)
            {
                // Orleans' serializer here too: the memory provider also defaults to Json.NET, and a deactivated
                // grain could not read its state back (see below).
                silo.AddMemoryGrainStorage(GatewayStorage.Name, options => options.Configure<Serializer>((o, serializer) =>
                    o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
            }
            else
            {
                // Orleans' own serializer, not the provider's default Json.NET one: that one writes immutable
                // collections it cannot read back, and the Model records go through AddGatewayModelSerializer either way.
                // Compressed: a tenant with thousands of mappings is several MB serialized, over one table entity's
                // 1 MiB (docs/control-plane.md, "State size").
                silo.AddAzureTableGrainStorage(GatewayStorage.Name, options => options.Configure<Serializer, GatewayTables>((o, serializer, tables) =>
                {
                    o.TableServiceClient = tables.CreateGrainStorageClient();
                    o.GrainStorageSerializer = new CompressedGrainStorageSerializer(
                        new OrleansGrainStorageSerializer(serializer), CompressedGrainStorageSerializer.AzureTableMaxStateBytes);
                }));
            }
        }
        else
        {
            // An edge only proxies: Orleans places a grain only on silos whose manifest lists its class, so taking the
            // gateway's grains (and the memory storage's grains) out of this silo's classes keeps every activation
            // on core silos, and an edge's loss never costs a grain.
            var excluded = new[] { typeof(TenantGrain).Assembly, typeof(MemoryGrainStorage).Assembly };
            silo.Services.PostConfigure<GrainTypeOptions>(o => o.Classes.RemoveWhere(t => excluded.Contains(t.Assembly)));
        }
    }

    /// <summary>Key Vault (when configured) with the reminders that refresh its certificates (docs/key-vault.md).</summary>
    private static void ConfigureCertificateSource(ISiloBuilder silo, GatewaySettings settings)
    {
        if (settings.KeyVault is not { } vault)
        {
            return;
        }

        silo.Services.AddKeyVaultCertificates(vault);
        if (settings.Cluster.Storage == StorageKind.Memory)
        {
            silo.UseInMemoryReminderService();
        }
        else
        {
            silo.UseAzureTableReminderService(b => b.Configure<GatewayTables>((o, tables) => o.TableServiceClient = tables.CreateClient()));
        }

        // Orleans refuses reminder periods under a minute by default; --certificate-refresh may be shorter.
        silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromTicks(Math.Min(o.MinimumReminderPeriod.Ticks, vault.RefreshInterval.Ticks)));
    }
}
