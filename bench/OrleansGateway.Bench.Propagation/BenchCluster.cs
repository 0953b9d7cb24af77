using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.TestingHost;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Bench.Propagation;

/// <summary>
/// N in-process silos (each its own host; they talk over loopback TCP) with the gateway grains, grain storage in
/// memory or in Azure Table storage, and one <see cref="BenchEdge"/> per silo. The apply goes through the cluster
/// client, as the management API will.
/// </summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    public const string AmbassadorId = "default";

    private readonly InProcessTestCluster _cluster;
    private readonly string? _tableConnection;
    private readonly string _table;

    private BenchCluster(InProcessTestCluster cluster, string? tableConnection, string table)
    {
        _cluster = cluster;
        _tableConnection = tableConnection;
        _table = table;
    }

    public IReadOnlyList<BenchEdge> Edges { get; private set; } = [];

    public IGrainFactory Client => _cluster.Client;

    /// <summary>Deactivates the directory grain and waits until it is gone; its observer subscriptions go with it.</summary>
    public Task DropDirectoryObserversAsync() => _cluster.DeactivateAsync(_cluster.Client.GetDirectoryGrain(AmbassadorId));

    public static async Task<BenchCluster> StartAsync(BenchConfiguration configuration, CancellationToken cancellationToken)
    {
        // One table per run: the cluster's service id isolates runs anyway, and the table is dropped at the end.
        var table = "ogwbench" + Guid.NewGuid().ToString("N")[..12];
        if (configuration.Storage == BenchStorage.Azure)
        {
            await CheckTableStorageAsync(configuration.ConnectionString, cancellationToken).ConfigureAwait(false);
        }

        var builder = new InProcessTestClusterBuilder((short)configuration.Silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureHost(host =>
        {
            host.Logging.ClearProviders();
            // Logs go to stderr: stdout carries only the table.
            host.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            host.Logging.AddSimpleConsole(o => o.SingleLine = true);
            host.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSerializer(s => s.AddGatewayModelSerializer());
            silo.Services.Configure<ControlPlaneOptions>(o =>
            {
                o.AmbassadorId = AmbassadorId;
                o.BindAddress = "127.0.0.1";
            });
            if (configuration.Storage == BenchStorage.Azure)
            {
                silo.AddAzureTableGrainStorage(GatewayStorage.Name, o =>
                {
                    o.TableName = table;
                    o.TableServiceClient = new TableServiceClient(configuration.ConnectionString);
                });
            }
            else
            {
                silo.AddMemoryGrainStorage(GatewayStorage.Name);
            }
        });
        builder.ConfigureClient(client => client.Services.AddSerializer(s => s.AddGatewayModelSerializer()));

        var cluster = builder.Build();
        await cluster.DeployAsync(cancellationToken).ConfigureAwait(false);
        var bench = new BenchCluster(cluster, configuration.Storage == BenchStorage.Azure ? configuration.ConnectionString : null, table);
        bench.Edges = [.. cluster.Silos.Select((silo, i) => new BenchEdge(
            i,
            silo.ServiceProvider.GetRequiredService<IGrainFactory>(),
            AmbassadorId,
            configuration.PollInterval,
            silo.ServiceProvider.GetRequiredService<ILoggerFactory>()))];
        foreach (var edge in bench.Edges)
        {
            edge.Start();
        }

        return bench;
    }

    /// <summary>
    /// One quick request before the silos start: without it a missing Azurite shows up as silo start-up failures
    /// after the storage provider's retries.
    /// </summary>
    private static async Task CheckTableStorageAsync(string connectionString, CancellationToken cancellationToken)
    {
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 0;
        var client = new TableServiceClient(connectionString, options);
        try
        {
            await client.QueryAsync(cancellationToken: cancellationToken).AsPages(pageSizeHint: 1).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            throw new InvalidOperationException(
                $"Azure Table storage at {client.Uri} did not answer ({e.Message.Split('\n')[0]}). Start Azurite "
                + "(see docs/propagation.md) or pass --connection-string.", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var edge in Edges)
        {
            await edge.DisposeAsync().ConfigureAwait(false);
        }

        await _cluster.DisposeAsync().ConfigureAwait(false);
        if (_tableConnection is not null)
        {
            await new TableServiceClient(_tableConnection).DeleteTableAsync(_table).ConfigureAwait(false);
        }
    }
}
