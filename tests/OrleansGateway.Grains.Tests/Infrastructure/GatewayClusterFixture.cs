using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains.Tests.Infrastructure;

/// <summary>
/// Stops one tenant's next change at one <see cref="ApplyStep"/>: the grain waits there for ever (as if its silo had
/// died at that instant) and <see cref="Reached"/> completes, so the test can kill the silo.
/// </summary>
public sealed class ApplyFaultHook : IApplyFaults
{
    private (string Tenant, ApplyStep Step, TaskCompletionSource Reached)? _armed;

    public Task Reached => _armed?.Reached.Task ?? Task.CompletedTask;

    public void Arm(string tenant, ApplyStep step) => _armed = (tenant, step, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public Task AtAsync(string tenant, ApplyStep reached)
    {
        if (_armed is not { } armed || armed.Tenant != tenant || armed.Step != reached)
        {
            return Task.CompletedTask;
        }

        _armed = null;
        armed.Reached.TrySetResult();
        return new TaskCompletionSource().Task;
    }
}

/// <summary>One 3-silo in-process cluster for the whole test project (starting one takes seconds).</summary>
public sealed class GatewayClusterFixture : IAsyncLifetime
{
    public const string AmbassadorId = "default";

    public SharedStore Store { get; } = new();

    /// <summary>The fault-injection hook of every silo (AtomicApplyTests); it does nothing until a test arms it.</summary>
    public ApplyFaultHook Faults { get; } = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        var store = Store;
        var faults = Faults;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<IApplyFaults>(faults);

            // Random placement, as Orleans placed grains before 9.2: the default (resource-optimized) places nothing on
            // a silo whose resource statistics it has not received yet, so right after a silo is replaced every new
            // grain went to the first silo, and the tests that need a grain on a secondary silo found none.
            silo.Services.AddSingleton<PlacementStrategy, RandomPlacement>();
            silo.Services.AddSerializer(s => s.AddGatewayModelSerializer());
            silo.Services.AddGrainStorage(GatewayStorage.Name, (sp, _) => store.For(sp.GetRequiredService<Serializer>()));
            silo.Services.Configure<ControlPlaneOptions>(o => o.AmbassadorId = AmbassadorId);

            // A killed silo is declared dead after one missed probe instead of the production defaults (tens of seconds).
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.NumMissedProbesLimit = 1;
                o.NumVotesForDeathDeclaration = 1;
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
            });
        });
        builder.ConfigureClient(client => client.Services.AddSerializer(s => s.AddGatewayModelSerializer()));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>
    /// After a test killed a silo: a new one joins, and every silo's membership view holds exactly the running silos,
    /// so that the next test never places a grain on the dead one (its calls would fail until it is declared dead).
    /// </summary>
    public async Task ReplaceKilledSiloAsync()
    {
        await Cluster.StartAdditionalSiloAsync();
        await Eventually.Get(() => Task.FromResult(Cluster.Silos.Where(s => s.IsActive).ToList()), silos =>
        {
            var running = silos.Select(s => s.SiloAddress).ToHashSet();
            return silos.All(s => s.ServiceProvider.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values
                .Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToHashSet().SetEquals(running));
        }, "every silo to see the running silos, and only them, as active", TimeSpan.FromSeconds(60));
    }

    /// <summary>The grain factory of one silo, as an edge on that silo uses it.</summary>
    public IGrainFactory Silo(int index) => Cluster.Silos[index].ServiceProvider.GetRequiredService<IGrainFactory>();
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<GatewayClusterFixture>
{
    public const string Name = "cluster";
}
