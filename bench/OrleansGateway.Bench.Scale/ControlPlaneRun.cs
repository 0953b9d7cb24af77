using System.Collections.Immutable;
using System.Diagnostics;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansGateway.Grains;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Bench.Scale;

/// <summary>What one tenant-grain run measured.</summary>
/// <param name="RawStateBytes">The tenant state as Orleans serializes it (what one storage entry would hold uncompressed).</param>
/// <param name="StoredStateBytes">The same state as the gateway stores it (<see cref="CompressedGrainStorageSerializer"/>).</param>
/// <param name="ListenerStoredBytes">The SNI listener grain's state as stored.</param>
internal sealed record ControlPlaneSample(
    TimeSpan Apply,
    TimeSpan Reapply,
    TimeSpan Reload,
    long RawStateBytes,
    long StoredStateBytes,
    long ListenerRawBytes,
    long ListenerStoredBytes);

/// <summary>
/// One in-process silo with the real grains and the gateway's storage setup (memory, or Azure Table storage with the
/// compressed Orleans serializer as <c>SiloSetup</c> configures it): <see cref="ITenantGrain.ApplyAsync"/> of the
/// whole workload, a re-apply that changes one mapping, then the tenant grain is deactivated and read back.
/// </summary>
internal static class ControlPlaneRun
{
    private const string Tenant = "scale";

    public static async Task<ControlPlaneSample> RunAsync(Workload workload, GrainStorage storage, string connectionString, CancellationToken cancellationToken)
    {
        var table = "ogwscale" + Guid.NewGuid().ToString("N")[..12];
        if (storage == GrainStorage.Azure)
        {
            await CheckTableStorageAsync(connectionString, cancellationToken).ConfigureAwait(false);
        }

        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureHost(host =>
        {
            host.Logging.ClearProviders();
            host.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            host.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSerializer(s => s.AddGatewayModelSerializer());
            silo.Services.Configure<ControlPlaneOptions>(o =>
            {
                o.AmbassadorId = DataPlaneRun.AmbassadorId;
                o.BindAddress = "127.0.0.1";
            });
            if (storage == GrainStorage.Azure)
            {
                silo.AddAzureTableGrainStorage(GatewayStorage.Name, options => options.Configure<Serializer>((o, serializer) =>
                {
                    o.TableName = table;
                    o.TableServiceClient = new TableServiceClient(connectionString);
                    o.GrainStorageSerializer = StorageSerializer(serializer);
                }));
            }
            else
            {
                // Orleans' serializer here too: the memory provider's default (Json.NET) cannot read the state back.
                silo.AddMemoryGrainStorage(GatewayStorage.Name, options => options.Configure<Serializer>((o, serializer) =>
                    o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
            }
        });
        builder.ConfigureClient(client => client.Services.AddSerializer(s => s.AddGatewayModelSerializer()));

        var cluster = builder.Build();
        await cluster.DeployAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var loaded = ResourceLoader.Parse(workload.Yaml, "scale.yaml");
            var grain = cluster.Client.GetTenantGrain(Tenant);
            var clock = Stopwatch.StartNew();
            var outcome = await grain.ApplyAsync(new ApplyRequest(loaded.Resources, ApplyMode.PerResource, "bench")).ConfigureAwait(false);
            var apply = clock.Elapsed;
            Check(outcome, workload);

            var changed = loaded.Resources
                .Select(r => r is TcpMapping { Name: "sni-00000" } m ? m with { Service = "127.0.0.1:1" } : r)
                .ToImmutableArray();
            clock.Restart();
            outcome = await grain.ApplyAsync(new ApplyRequest(changed, ApplyMode.PerResource, "bench")).ConfigureAwait(false);
            var reapply = clock.Elapsed;
            Check(outcome, workload);

            // Read back from storage: a new activation loads the state the last apply wrote.
            await cluster.DeactivateAsync(grain).ConfigureAwait(false);
            clock.Restart();
            var view = await grain.GetAsync().ConfigureAwait(false);
            var reload = clock.Elapsed;
            var reloadedMapping = view.Resources.Select(r => r.Resource).OfType<TcpMapping>().SingleOrDefault(m => m.Name == "sni-00000");
            if (view.Resources.Length != loaded.Resources.Length || reloadedMapping?.Service != "127.0.0.1:1")
            {
                throw new InvalidOperationException($"the tenant read back from {storage} storage has {view.Resources.Length} of " +
                    $"{loaded.Resources.Length} resources, or not the last change");
            }

            var serializer = cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>();
            var tenantState = new TenantState { Version = view.Version, Resources = view.Resources, Quota = view.Quota };
            var listenerKey = ListenerKey.For(DataPlaneRun.AmbassadorId, new ListenerEndpoint("127.0.0.1", workload.TlsPort));
            var slice = await cluster.Client.GetListenerGrain(listenerKey).GetSliceAsync().ConfigureAwait(false);
            var listenerState = new ListenerState { Version = slice.Version, Claims = [new TenantClaim(Tenant, 0, slice.Plan!)] };
            var (tenantRaw, tenantStored) = Sizes(serializer, tenantState);
            var (listenerRaw, listenerStored) = Sizes(serializer, listenerState);
            return new ControlPlaneSample(apply, reapply, reload, tenantRaw, tenantStored, listenerRaw, listenerStored);
        }
        finally
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            if (storage == GrainStorage.Azure)
            {
                await new TableServiceClient(connectionString).DeleteTableAsync(table, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>As SiloSetup configures Azure Table storage.</summary>
    private static CompressedGrainStorageSerializer StorageSerializer(Serializer serializer) =>
        new(new OrleansGrainStorageSerializer(serializer), CompressedGrainStorageSerializer.AzureTableMaxStateBytes);

    private static (long Raw, long Stored) Sizes<T>(Serializer serializer, T state) =>
        (new OrleansGrainStorageSerializer(serializer).Serialize(state).ToMemory().Length,
         new CompressedGrainStorageSerializer(new OrleansGrainStorageSerializer(serializer)).Serialize(state).ToMemory().Length);

    private static void Check(ApplyOutcome outcome, Workload workload)
    {
        var bad = outcome.Statuses.Where(s => s.State != ResourceState.Accepted).ToList();
        if (!outcome.Accepted || bad.Count > 0 || outcome.Statuses.Count(s => s.Resource.Kind == "TCPMapping") != workload.Mappings)
        {
            throw new InvalidOperationException($"the tenant apply was not fully accepted: {bad.Count} not accepted" +
                (bad.Count > 0 ? ", e.g. " + string.Join("; ", bad[0].Messages) : ""));
        }
    }

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
                $"Azure Table storage at {client.Uri} did not answer ({e.Message.Split('\n')[0]}). Start Azurite (tools/azurite/start.sh) " +
                "or pass --connection-string.", e);
        }
    }
}
