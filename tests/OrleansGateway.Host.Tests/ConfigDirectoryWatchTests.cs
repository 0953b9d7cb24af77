using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Sources.ConfigDirectory;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// How the config directory notices changes (docs/control-plane.md, "The config directory as a source"): a watcher
/// event makes it look at that tenant's files only, a burst of writes becomes one apply, and the periodic full scan
/// catches what no event announced. The real gateway on the real file system; only the source's clock is a
/// FakeTimeProvider, so that the debounce and the full scan happen when the test says.
/// </summary>
public sealed class ConfigDirectoryWatchTests
{
    private const int TenantCount = 12;

    [Fact]
    public async Task An_edit_of_one_tenant_among_many_looks_at_and_applies_that_tenant_only_once_for_a_burst()
    {
        using var dir = new TempConfigDir();
        WriteTenants(dir);
        var time = new FakeTimeProvider();
        var state = new ConfigDirectoryState();
        await using var gateway = await RunningGateway.StartAsync(dir.Path, Configure(state, time, TimeSpan.FromHours(1)));
        var before = await AppliedAsync(state);
        var (scans, lookedAt, applied) = (state.FullScans, state.TenantsLookedAt, state.TenantsApplied);

        // An editor's burst in one tenant: a rewrite (write to a temp file, rename it over), a new file, its swap files.
        dir.Write("t07/routes.yaml", Yaml.TcpMapping("m", Ports.Free(), "127.0.0.1:19"));
        dir.Write("t07/more.yml", Yaml.TcpMapping("n", Ports.Free(), "127.0.0.1:19"));
        dir.Write("t07/.routes.yaml.swp", "not: read\n");
        dir.Write("t07/4913", "");
        var after = await Eventually.Get(
            async () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(200));
                return await AppliedAsync(state);
            },
            a => a["t07"].Outcome.Version != before["t07"].Outcome.Version,
            "the edit of t07 applied");

        Assert.Equal(2, after["t07"].Outcome.Statuses.Count(s => s.Resource.Kind == "TCPMapping"));
        Assert.Equal(applied + 1, state.TenantsApplied);
        Assert.Equal(scans, state.FullScans);
        Assert.InRange(state.TenantsLookedAt - lookedAt, 1, TenantCount / 2);
        foreach (var tenant in before.Keys.Where(t => t != "t07"))
        {
            // Not read, not applied: the very object of the first apply.
            Assert.Same(before[tenant], after[tenant]);
        }
    }

    [Fact]
    public async Task A_change_no_event_announced_is_applied_by_the_full_scan()
    {
        using var dir = new TempConfigDir();
        using var elsewhere = new TempConfigDir();
        WriteTenants(dir);

        // A symlink to a file outside the directory: writing the target raises no event in the watched tree (as on a
        // filesystem that drops events, or a watcher queue that overflowed).
        var target = elsewhere.Write("routes.yaml", Yaml.TcpMapping("m", Ports.Free(), "127.0.0.1:19"));
        File.Delete(Path.Combine(dir.Path, "t03", "routes.yaml"));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "t03", "routes.yaml"), target);
        var time = new FakeTimeProvider();
        var state = new ConfigDirectoryState();
        await using var gateway = await RunningGateway.StartAsync(dir.Path, Configure(state, time, TimeSpan.FromSeconds(30)));
        var before = await AppliedAsync(state);
        var scans = state.FullScans;

        elsewhere.Write("routes.yaml", Yaml.TcpMapping("m", Ports.Free(), "127.0.0.1:19") + Yaml.TcpMapping("n", Ports.Free(), "127.0.0.1:19"));
        time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        Assert.Same(before["t03"], (await AppliedAsync(state))["t03"]);

        var after = await Eventually.Get(
            async () =>
            {
                time.Advance(TimeSpan.FromSeconds(30));
                return await AppliedAsync(state);
            },
            a => a["t03"].Outcome.Version != before["t03"].Outcome.Version,
            "the change behind the symlink applied");

        Assert.True(state.FullScans > scans);
        Assert.Equal(2, after["t03"].Outcome.Statuses.Count(s => s.Resource.Kind == "TCPMapping"));
        foreach (var tenant in before.Keys.Where(t => t != "t03"))
        {
            Assert.Same(before[tenant], after[tenant]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_ConfigMap_update_behind_unchanged_symlinks_is_applied_without_waiting_for_the_full_scan(bool singleFile)
    {
        // A ConfigMap mount: routes.yaml -> ..data/routes.yaml, ..data -> ..v1; an update repoints ..data only.
        using var dir = new TempConfigDir();
        dir.Write("..v1/routes.yaml", Yaml.TcpMapping("m", Ports.Free(), "127.0.0.1:19"));
        dir.Write("..v2/routes.yaml", Yaml.TcpMapping("m", Ports.Free(), "127.0.0.1:19") + Yaml.TcpMapping("n", Ports.Free(), "127.0.0.1:19"));
        var data = Path.Combine(dir.Path, "..data");
        Directory.CreateSymbolicLink(data, "..v1");
        var routes = Path.Combine(dir.Path, "routes.yaml");
        File.CreateSymbolicLink(routes, Path.Combine("..data", "routes.yaml"));
        var time = new FakeTimeProvider();
        var state = new ConfigDirectoryState();
        await using var gateway = await RunningGateway.StartAsync(singleFile ? routes : dir.Path, Configure(state, time, TimeSpan.FromHours(1)));
        var before = await Eventually.Get(() => Task.FromResult(state.Config), c => c is not null, "the first apply");

        Directory.Delete(data);
        Directory.CreateSymbolicLink(data, "..v2");
        var after = await Eventually.Get(
            () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(200));
                return Task.FromResult(state.Config!.Tenants.Single(t => t.Tenant == "default"));
            },
            t => t.Outcome.Statuses.Count(s => s.Resource.Kind == "TCPMapping") == 2,
            "the repointed ..data applied");

        // With a full scan due only in an hour, the watcher's event on ..data is what made it look.
        Assert.NotEqual(before!.Tenants.Single().Outcome.Version, after.Outcome.Version);
    }

    private static void WriteTenants(TempConfigDir dir)
    {
        for (var i = 0; i < TenantCount; i++)
        {
            dir.Write($"t{i:00}/routes.yaml", Yaml.TcpMapping("m", Ports.Free(), "127.0.0.1:19"));
        }
    }

    /// <summary>The last apply of each tenant, once every tenant was applied.</summary>
    private static Task<Dictionary<string, ConfigTenant>> AppliedAsync(ConfigDirectoryState state) => Eventually.Get(
        () => Task.FromResult(state.Config?.Tenants.ToDictionary(t => t.Tenant) ?? []),
        tenants => tenants.Count == TenantCount + 1,
        "every tenant applied");

    /// <summary>The gateway's config directory source, with <paramref name="time"/> as its clock and the test's state to read.</summary>
    private static Action<WebApplicationBuilder> Configure(ConfigDirectoryState state, TimeProvider time, TimeSpan fullScanInterval) => builder =>
    {
        var services = builder.Services;
        var options = (ConfigDirectoryOptions)services.Single(d => d.ServiceType == typeof(ConfigDirectoryOptions)).ImplementationInstance!;
        services.Remove(services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(ConfigDirectorySource)));
        services.AddSingleton(state);
        services.AddHostedService(s => new ConfigDirectorySource(
            options with { FullScanInterval = fullScanInterval },
            s.GetRequiredService<IGrainFactory>(),
            state,
            time,
            s.GetRequiredService<ILogger<ConfigDirectorySource>>()));
    };
}
