using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;
using OrleansGateway.Proxy;

namespace OrleansGateway.Bench.Scale;

/// <summary>What one data-plane run measured.</summary>
internal sealed record DataPlaneSample(
    TimeSpan Load,
    TimeSpan Compile,
    TimeSpan CompileCpu,
    TimeSpan Apply,
    TimeSpan Recompile,
    TimeSpan Reapply,
    TimeSpan ApplyToServing,
    int Listeners,
    int SniRoutes,
    int Connections,
    int Dropped);

/// <summary>
/// load → compile → <see cref="ProxyServer.ApplyAsync"/> of the whole plan → open connections spread over the
/// routes → change one mapping's upstream, recompile and re-apply while they stay open → time until a new
/// connection on the changed route reaches the new upstream → every open connection must still echo.
/// </summary>
internal static class DataPlaneRun
{
    public const string AmbassadorId = "default";

    public static async Task<DataPlaneSample> RunAsync(Workload workload, int connections, GreetingUpstream before, GreetingUpstream after,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var loaded = ResourceLoader.Parse(workload.Yaml, "scale.yaml");
        var load = clock.Elapsed;

        var options = new CompileOptions(BindAddress: "127.0.0.1");
        // CPU time of the whole process beside the wall time: on a shared, loaded machine the wall time is mostly
        // waiting for a core. The process is otherwise idle here (the upstreams have no connections yet).
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        clock.Restart();
        var compiled = GatewayCompiler.Compile(new CompileInput(loaded.Resources, AmbassadorId, options, loaded.Diagnostics));
        var compile = clock.Elapsed;
        var compileCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        CheckAccepted(compiled, workload);

        var certificates = SecretCertificateProvider.FromSecrets(loaded.Resources.OfType<SecretResource>(), out var problems);
        if (!problems.IsEmpty)
        {
            throw new InvalidOperationException("the generated Secrets do not load: " + problems[0].Message);
        }

        await using var server = new ProxyServer(new ProxyOptions(), NullLoggerFactory.Instance);
        clock.Restart();
        var applied = await server.ApplyAsync(compiled.Plan, certificates, cancellationToken).ConfigureAwait(false);
        var apply = clock.Elapsed;
        if (applied.Failed.FirstOrDefault() is { } failed)
        {
            throw new InvalidOperationException($"{applied.Failed.Count()} listener(s) did not bind, e.g. {failed.Endpoint}: {failed.Error}");
        }

        var targets = Targets(workload, connections);
        var open = new List<BenchConnection>(targets.Count);
        try
        {
            foreach (var (port, sni) in targets)
            {
                var connection = await BenchConnection.OpenAsync(port, sni, cancellationToken).ConfigureAwait(false);
                open.Add(connection);
                if (connection.Greeting != "before")
                {
                    throw new InvalidOperationException($"a connection to port {port} (SNI {sni ?? "none"}) reached '{connection.Greeting}', not 'before'");
                }
            }

            for (var i = 0; i < open.Count; i++)
            {
                if (!await open[i].EchoAsync(i, cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException($"connection {i} does not echo before the change");
                }
            }

            // The changed mapping is the route of connection 0: it is open on the route that changes, and must stay
            // on the upstream it started with.
            var (changedName, changedPort, changedSni) = Changed(workload, targets[0]);
            var changedResources = loaded.Resources
                .Select(r => r is TcpMapping m && m.Name == changedName ? m with { Service = after.Service } : r)
                .ToImmutableArray();

            clock.Restart();
            var recompiled = GatewayCompiler.Compile(new CompileInput(changedResources, AmbassadorId, options, loaded.Diagnostics));
            var recompile = clock.Elapsed;
            CheckAccepted(recompiled, workload);

            clock.Restart();
            var reapplied = await server.ApplyAsync(recompiled.Plan, certificates, cancellationToken).ConfigureAwait(false);
            var reapply = clock.Elapsed;
            if (reapplied.Failed.Any())
            {
                throw new InvalidOperationException("a listener failed on the re-apply: " + reapplied.Failed.First().Error);
            }

            var serving = await WaitServedAsync(changedPort, changedSni, clock, cancellationToken).ConfigureAwait(false);

            await using (var unchanged = await BenchConnection.OpenAsync(targets[^1].Port, targets[^1].Sni, cancellationToken).ConfigureAwait(false))
            {
                if (unchanged.Greeting != "before")
                {
                    throw new InvalidOperationException($"an unchanged route now reaches '{unchanged.Greeting}'");
                }
            }

            var dropped = 0;
            for (var i = 0; i < open.Count; i++)
            {
                if (!await open[i].EchoAsync(i + 1_000_000, cancellationToken).ConfigureAwait(false))
                {
                    dropped++;
                }
            }

            var plan = compiled.Plan;
            return new DataPlaneSample(load, compile, compileCpu, apply, recompile, reapply, serving, plan.Listeners.Length,
                plan.Listeners.Sum(l => l.SniRoutes.Length), open.Count, dropped);
        }
        finally
        {
            foreach (var connection in open)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Until a new connection on the changed route is greeted by the new upstream: the apply's start to that moment.</summary>
    private static async Task<TimeSpan> WaitServedAsync(int port, string? sni, Stopwatch sinceApply, CancellationToken cancellationToken)
    {
        var deadline = TimeSpan.FromSeconds(15);
        while (sinceApply.Elapsed < deadline)
        {
            await using var probe = await BenchConnection.OpenAsync(port, sni, cancellationToken).ConfigureAwait(false);
            if (probe.Greeting == "after")
            {
                return sinceApply.Elapsed;
            }
        }

        throw new InvalidOperationException($"the changed route (port {port}, SNI {sni ?? "none"}) did not reach the new upstream within {deadline.TotalSeconds} s");
    }

    /// <summary>Connections spread evenly over the SNI names and the cleartext ports (half each in the mixed case).</summary>
    private static List<(int Port, string? Sni)> Targets(Workload workload, int count)
    {
        var sniCount = workload.SniMappings == 0 ? 0 : workload.CleartextPorts.Count == 0 ? count : count / 2;
        var portCount = count - sniCount;
        var targets = new List<(int, string?)>(count);
        for (var i = 0; i < sniCount; i++)
        {
            targets.Add((workload.TlsPort, Workload.SniHost((int)((long)i * workload.SniMappings / sniCount))));
        }

        for (var i = 0; i < portCount; i++)
        {
            targets.Add((workload.CleartextPorts[(int)((long)i * workload.CleartextPorts.Count / portCount)], null));
        }

        return targets;
    }

    private static (string Name, int Port, string? Sni) Changed(Workload workload, (int Port, string? Sni) target)
    {
        if (target.Sni is { } sni)
        {
            var index = int.Parse(sni.AsSpan(4, sni.IndexOf('.', StringComparison.Ordinal) - 4), System.Globalization.CultureInfo.InvariantCulture);
            return (Workload.SniMappingName(index), target.Port, sni);
        }

        var portIndex = workload.CleartextPorts.ToList().IndexOf(target.Port);
        return (Workload.PortMappingName(portIndex), target.Port, null);
    }

    private static void CheckAccepted(CompileResult result, Workload workload)
    {
        var notAccepted = result.Statuses.Where(s => s.State != ResourceState.Accepted).ToList();
        if (notAccepted.Count > 0)
        {
            throw new InvalidOperationException($"{notAccepted.Count} generated resource(s) not accepted, e.g. " +
                string.Join("; ", notAccepted[0].Messages));
        }

        var routes = result.Plan.Listeners.Sum(l => l.SniRoutes.Length + (l.CatchAll is null ? 0 : 1));
        if (routes != workload.Mappings)
        {
            throw new InvalidOperationException($"the plan has {routes} routes for {workload.Mappings} mappings");
        }
    }
}
