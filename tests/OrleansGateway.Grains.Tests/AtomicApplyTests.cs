using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Testing;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// A Strict change killed at each of its steps (docs/reliability.md, "Atomic applies"): the tenant grain's silo dies
/// there, the grain reactivates on another silo from storage, and the tenant is wholly at the previous version (its
/// listener on the old port, nothing on the new one) or, once the change is stored, wholly at the new one.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AtomicApplyTests(GatewayClusterFixture fixture)
{
    [Theory]
    [InlineData(ApplyStep.Intent, 0)]
    [InlineData(ApplyStep.Claimed, 1)]
    [InlineData(ApplyStep.Certificates, 2)]
    [InlineData(ApplyStep.Released, 3)]
    [InlineData(ApplyStep.Committed, 4)]
    public async Task A_change_killed_at_a_step_leaves_the_tenant_wholly_before_or_after_it(ApplyStep step, int index)
    {
        var client = fixture.Cluster.Client;
        // Ports no other test of the shared cluster holds: a fixed range collided with the free ports other tests take.
        int oldPort = 0, newPort = Ports.Free();

        // A tenant whose grain lives on a secondary silo (the first is kept: the client's gateway is there).
        InProcessSiloHandle? victim = null;
        var tenant = "";
        for (var i = 0; victim is null; i++)
        {
            Assert.True(i < 40, $"no tenant grain landed on a secondary silo in 40 tries; silos: {string.Join(", ", fixture.Cluster.Silos.Select(s => $"{s.SiloAddress} active={s.IsActive}"))}");
            tenant = $"t-atomic-{index}-{i}";
            oldPort = Ports.Free();
            var first = await client.GetTenantGrain(tenant).ApplyAsync(Res.Strict(Res.Mapping("db", oldPort)));
            Assert.True(first.Accepted, string.Join("\n", first.Diagnostics));
            victim = HostOf(client.GetTenantGrain(tenant).GetGrainId());
        }

        var before = await client.GetTenantGrain(tenant).GetAsync();
        fixture.Faults.Arm(tenant, step);
        var change = client.GetTenantGrain(tenant).ApplyAsync(Res.Strict(Res.Mapping("db", newPort)));
        await fixture.Faults.Reached.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        await fixture.Cluster.KillSiloAsync(victim, TestContext.Current.CancellationToken);
        try
        {
            // The caller of the killed change gets an error once its call times out; not waited for here.
            _ = change.ContinueWith(t => t.Exception, TaskScheduler.Default);

            var after = await Eventually.Get(() => client.GetTenantGrain(tenant).GetAsync(), _ => true, "the tenant grain to reactivate", TimeSpan.FromSeconds(60));
            var committed = step == ApplyStep.Committed;
            var (servedPort, freePort) = committed ? (newPort, oldPort) : (oldPort, newPort);
            Assert.Equal(committed ? before.Version + 1 : before.Version, after.Version);
            var stored = Assert.Single(after.Resources);
            Assert.Equal((servedPort, ResourceState.Accepted), (((Model.Resources.TcpMapping)stored.Resource).Port, stored.Status.State));

            var served = await client.GetListenerGrain(Listener(servedPort)).GetSliceAsync();
            Assert.Equal("db", Assert.Single(served.Plan!.CatchAll!.Upstreams).Mapping.Name);
            Assert.Null((await client.GetListenerGrain(Listener(freePort)).GetSliceAsync()).Plan);

            // The tenant applies again as usual, and another tenant can take the port it does not hold.
            Assert.True((await client.GetTenantGrain(tenant).ApplyAsync(Res.Strict(Res.Mapping("db", servedPort)))).Accepted);
            Assert.True((await client.GetTenantGrain($"{tenant}-next").ApplyAsync(Res.Strict(Res.Mapping("other", freePort)))).Accepted);
        }
        finally
        {
            await fixture.ReplaceKilledSiloAsync();
        }
    }

    private static ListenerKey Listener(int port) => ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", port));

    private InProcessSiloHandle? HostOf(GrainId grain) =>
        fixture.Cluster.Silos.Skip(1).Where(s => s.IsActive)
            .FirstOrDefault(s => s.ServiceProvider.GetRequiredService<ILocalActivationStatusChecker>().IsLocallyActivated(grain));
}
