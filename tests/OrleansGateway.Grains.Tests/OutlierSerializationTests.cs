using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// The outlier-ejection fields cross grain calls and grain state whole (docs/tcpmapping-semantics.md, "Outlier
/// ejection"): the annotations on a stored TCPMapping, the plan's member settings, and an edge's ejections in its report.
/// </summary>
public sealed class OutlierSerializationTests
{
    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(s => s.AddGatewayModelSerializer())
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    [Fact]
    public void Annotated_mappings_and_their_plan_round_trip()
    {
        var quiet = new TcpMapping { Name = "quiet", Port = 2222, Service = "127.0.0.1:1", Weight = 50, OutlierDetection = "off" };
        var checkedMember = new TcpMapping { Name = "checked", Port = 2222, Service = "127.0.0.1:2", Weight = 50, HealthCheck = "tcp", HealthCheckInterval = TimeSpan.FromSeconds(5) };
        var request = new ApplyRequest([quiet, checkedMember], ApplyMode.Strict, "api");

        var copy = Serializer.Deserialize<ApplyRequest>(Serializer.SerializeToArray(request))!;
        Assert.Equal(["off", null], copy.Resources.Cast<TcpMapping>().Select(m => m.OutlierDetection));
        Assert.Equal([null, TimeSpan.FromSeconds(5)], copy.Resources.Cast<TcpMapping>().Select(m => m.HealthCheckInterval));

        var plan = GatewayCompiler.Compile(new CompileInput([quiet, checkedMember], "default")).Plan;
        var planCopy = Serializer.Deserialize<GatewayPlan>(Serializer.SerializeToArray(plan))!;
        var members = Assert.Single(planCopy.Listeners).CatchAll!.Upstreams;
        Assert.Equal([(false, TimeSpan.FromSeconds(5)), (true, null)], members.Select(u => (u.NoOutlierDetection, u.HealthCheckInterval)));
        Assert.Equal(JsonSerializer.Serialize(plan), JsonSerializer.Serialize(planCopy));
    }

    [Fact]
    public void An_edge_report_carries_its_ejections_and_one_without_reads_as_none()
    {
        var since = DateTimeOffset.Parse("2026-12-07T19:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var ejection = new EdgeEjection(new ListenerEndpoint("0.0.0.0", 2222), null, "acme", "default/db-canary", "10.0.0.9:5432",
            "5 connection attempts in a row failed (last: UpstreamRefused)", 2, since, since.AddSeconds(60));
        var report = new EdgeReport("edge-1", since, [], ImmutableDictionary<string, long>.Empty) { Ejections = [ejection] };

        var copy = Serializer.Deserialize<EdgeReport>(Serializer.SerializeToArray(report))!;

        Assert.Equal(ejection, Assert.Single(copy.Ejections));
        var none = Serializer.Deserialize<EdgeReport>(Serializer.SerializeToArray(report with { Ejections = default }))!;
        Assert.False(none.Ejections.IsDefault);
        Assert.Empty(none.Ejections);
    }
}
