using System.Diagnostics;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Bench.Propagation;

/// <summary>One measured apply. Times in milliseconds; propagation is measured from the apply call's accepted return.</summary>
/// <param name="NewListener">True when the apply added a mapping on a new port (the edges bind a listener), false when
/// it changed the upstream of an existing one (the edges swap the route).</param>
/// <param name="Propagation">Until the last edge's ProxyServer took a plan with the change; negative when every edge
/// served it before the apply call returned (the listener grain publishes before the tenant grain's last write).</param>
/// <param name="Connection">Until a new connection through every edge reached the new upstream (read its greeting).</param>
/// <param name="FromCallStart">Until the last edge served it, measured from the start of the apply call.</param>
internal sealed record Sample(bool NewListener, double ApplyCall, double Propagation, double FromCallStart, double Connection);

/// <summary>
/// Applies a change, waits until every edge serves it, checks it on the wire, and repeats. Even applies add
/// mapping <c>bench-k</c> on a new port with upstream A; odd applies move that mapping to upstream B.
/// </summary>
internal static class PropagationRun
{
    /// <summary>A change no edge serves within this is a failure, not a sample (the poll fallback alone takes 1 s).</summary>
    private static readonly TimeSpan ServeTimeout = TimeSpan.FromSeconds(15);

    public static async Task<IReadOnlyList<Sample>> RunAsync(BenchConfiguration configuration, TextWriter progress, CancellationToken cancellationToken)
    {
        await using var upstreamA = new GreetingUpstream("upstream-a", echo: false);
        await using var upstreamB = new GreetingUpstream("upstream-b", echo: false);
        progress.WriteLine($"{configuration.Silos} silo(s), {configuration.StorageName}, {configuration.Delivery}: starting the cluster");
        await using var cluster = await BenchCluster.StartAsync(configuration, cancellationToken).ConfigureAwait(false);
        await WaitForFirstSnapshotsAsync(cluster, cancellationToken).ConfigureAwait(false);

        var tenant = cluster.Client.GetTenantGrain("bench");
        var samples = new List<Sample>(configuration.Applies);
        var phase = new Random(4);
        for (var i = 0; i < configuration.Warmup + configuration.Applies; i++)
        {
            var newListener = i % 2 == 0;
            var port = configuration.BasePort + (i / 2);
            var upstream = newListener ? upstreamA : upstreamB;
            var mapping = new TcpMapping { Name = $"bench-{i / 2}", Port = port, Service = upstream.Service };
            if (configuration.LoseObservers)
            {
                await cluster.DropDirectoryObserversAsync().ConfigureAwait(false);

                // Each apply would otherwise start right after the poll that found the previous one, the worst
                // phase (a full interval every time); real changes arrive at a random point of the edges' poll cycle.
                await Task.Delay(configuration.PollInterval * phase.NextDouble(), cancellationToken).ConfigureAwait(false);
            }

            var sample = await ApplyOnceAsync(cluster, tenant, mapping, upstream.Name, newListener, cancellationToken).ConfigureAwait(false);
            if (i >= configuration.Warmup)
            {
                samples.Add(sample);
            }
        }

        progress.WriteLine($"{configuration.Silos} silo(s), {configuration.StorageName}, {configuration.Delivery}: {samples.Count} applies measured; "
            + $"edge snapshots taken: {string.Join(", ", cluster.Edges.Select(e => $"{e.Address} {e.Applied}"))}");
        return samples;
    }

    private static async Task<Sample> ApplyOnceAsync(
        BenchCluster cluster, ITenantGrain tenant, TcpMapping mapping, string upstreamName, bool newListener, CancellationToken cancellationToken)
    {
        var served = cluster.Edges.Select(e => e.Expect(plan => Routes(plan, mapping))).ToArray();

        var started = Stopwatch.GetTimestamp();
        var outcome = await tenant.ApplyAsync(new ApplyRequest([mapping], ApplyMode.Strict, "bench")).ConfigureAwait(false);
        var accepted = Stopwatch.GetTimestamp();
        if (!outcome.Accepted)
        {
            throw new InvalidOperationException(
                $"the apply of TCPMapping {mapping.Name} (port {mapping.Port}) was refused: {string.Join("; ", outcome.Diagnostics.Select(d => d.Message))}");
        }

        long[] servedAt;
        try
        {
            servedAt = await Task.WhenAll(served).WaitAsync(ServeTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var late = cluster.Edges.Where((_, i) => !served[i].IsCompleted).Select(e => e.Address);
            throw new TimeoutException($"edges {string.Join(", ", late)} did not serve TCPMapping {mapping.Name} (port {mapping.Port}) within {ServeTimeout.TotalSeconds} s of its accepted apply.");
        }

        var greetings = await Task.WhenAll(cluster.Edges.Select(e => e.GreetingThroughAsync(mapping.Port, cancellationToken))).ConfigureAwait(false);
        var connected = Stopwatch.GetTimestamp();
        var wrong = cluster.Edges.Zip(greetings).FirstOrDefault(p => p.Second != upstreamName);
        if (wrong.First is not null)
        {
            throw new InvalidOperationException(
                $"a connection through edge {wrong.First.Address}:{mapping.Port} reached '{wrong.Second}', expected '{upstreamName}': the edge serves a plan without the change.");
        }

        return new Sample(
            newListener,
            Stopwatch.GetElapsedTime(started, accepted).TotalMilliseconds,
            Milliseconds(accepted, servedAt.Max()),
            Milliseconds(started, servedAt.Max()),
            Stopwatch.GetElapsedTime(accepted, connected).TotalMilliseconds);
    }

    /// <summary>Signed: an edge may serve the change before the apply call returns.</summary>
    private static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private static bool Routes(GatewayPlan plan, TcpMapping mapping) =>
        plan.Listeners.Any(l => l.Endpoint.Port == mapping.Port
            && l.CatchAll is { } route
            && route.Upstreams.Any(u => u.Service == mapping.Service));

    private static async Task WaitForFirstSnapshotsAsync(BenchCluster cluster, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(30 * Stopwatch.Frequency);
        while (!cluster.Edges.All(e => e.HasSnapshot))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("the edges did not read the directory within 30 s of the cluster's start; see the warnings above.");
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }
}
