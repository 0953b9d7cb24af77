using System.CommandLine;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orleans.Dashboard;
using OrleansGateway.Api;
using OrleansGateway.Edge;
using OrleansGateway.KeyVault;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;
using OrleansGateway.Sources.ConfigDirectory;
using OrleansGateway.Sources.Kubernetes;
using OrleansGateway.Sources.Kubernetes.Endpoints;

namespace OrleansGateway.Silo;

/// <summary>
/// The gateway process: an Orleans silo inside an ASP.NET Core application. By role it hosts the control plane's
/// grains (core), the data plane fed by an edge route cache (edge), or both (all); the config directory, when given,
/// is one source of the tenant grains.
/// </summary>
public static class Program
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The prefix of every category of the gateway's own code, the ones <c>--log-level</c> sets.</summary>
    private const string GatewayCategory = "OrleansGateway";

    public static Task<int> Main(string[] args)
    {
        // Before the first socket exists: the socket engine reads its settings once.
        SocketEngineDefaults.Apply();
        return RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
    }

    /// <summary>Runs until <paramref name="stop"/> fires, SIGTERM or Ctrl+C; what tests call in-process.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken stop) =>
        RunAsync(args, output, error, configure: null, stop);

    /// <param name="configure">Tests only: adds to the host before it is built (e.g. a logger provider that captures the log).</param>
    internal static async Task<int> RunAsync(
        string[] args, TextWriter output, TextWriter error, Action<WebApplicationBuilder>? configure, CancellationToken stop)
    {
        var commandLine = new GatewayCommandLine();
        var parsed = commandLine.Root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return UsageError(error, parsed.Errors.Select(e => e.Message));
        }

        commandLine.Root.SetAction(async (result, cancellationToken) =>
        {
            var settings = commandLine.Read(result, out var problem);
            return problem is null
                ? await ServeAsync(settings, error, configure, cancellationToken)
                : UsageError(error, [problem]);
        });

        // The host, not System.CommandLine, handles SIGTERM and Ctrl+C, so that shutdown disposes the proxy in order.
        var invocation = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        return await parsed.InvokeAsync(invocation, stop);
    }

    private static async Task<int> ServeAsync(GatewaySettings settings, TextWriter error, Action<WebApplicationBuilder>? configure, CancellationToken stop)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(settings.ApiUrl.ToString());
        ApiCertificate.Serve(builder, settings);
        if (settings.ApiServing.AdminKeyVaultSecret is not null)
        {
            // Before the silo and the server: the gateway does not start without the key it was told to use.
            builder.Services.AddKeyVaultClient(settings.KeyVault!);
            builder.Services.AddSingleton<AdminKeyFromVault>();
            builder.Services.AddHostedService(services => services.GetRequiredService<AdminKeyFromVault>());
        }

        var hasAdminKey = settings.AdminKey is not null || settings.ApiServing.AdminKeyVaultSecret is not null;

        // Quiet by default (appsettings.json: the framework at Warning, the gateway at Information), one escaped line per entry.
        builder.Logging.AddConsoleFormatter<GatewayConsoleFormatter, ConsoleFormatterOptions>();
        if (settings.LogLevel is { } level)
        {
            builder.Logging.AddFilter(GatewayCategory, level);
        }

        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ConfigDirectoryState>();
        builder.Services.AddSingleton<EdgeState>();
        builder.Services.AddSingleton<GatewayStatus>();

        // A silo whose peers just died may wait on them for the messaging timeout (30 s) while it stops gracefully;
        // past this bound it stops without them, well before an orchestrator's SIGKILL (Kubernetes: 30 s).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);

        // The silo starts before the services below (hosted services start in order), so they can call grains.
        builder.UseOrleans(silo =>
        {
            SiloSetup.Configure(silo, settings);

            // Only the admin may open the dashboard: without an admin key nobody could, and it costs seconds at start.
            if (hasAdminKey)
            {
                silo.AddDashboard();
            }
        });
        builder.Services.AddHostedService<SiloEndpointsReporter>();
        builder.AddManagementApi(services => new ApiOptions(
            settings.AmbassadorId,
            settings.Compile,
            settings.ApiServing.AdminKeyVaultSecret is null ? settings.AdminKey : services.GetRequiredService<AdminKeyFromVault>().Key,
            HasCertificateSource: settings.KeyVault is not null)
        {
            MetricsToken = settings.ApiServing.MetricsToken,
            RateLimits = settings.ApiRateLimits,
        });
        var metrics = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("orleans-gateway"))
            .WithMetrics(m => m.AddPrometheusExporter());
        if (settings.Cluster.ServesTraffic)
        {
            // Disposed by the container when the host stops, after the edge has stopped applying snapshots.
            builder.Services.AddSingleton(services => new ProxyServer(
                settings.Proxy,
                services.GetRequiredService<ILoggerFactory>(),
                services.GetRequiredService<TimeProvider>(),
                resolver: settings.Kubernetes is null
                    ? null
                    : new KubernetesUpstreamResolver(services.GetRequiredService<KubernetesEndpoints>(), settings.Compile.AmbassadorNamespace, DnsUpstreamResolver.Instance),
                meterFactory: services.GetService<IMeterFactory>()));
            builder.Services.AddSingleton(services => new EdgeOptions(
                settings.AmbassadorId, services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString()));
            builder.Services.AddHostedService<EdgeService>();
            builder.Services.AddSingleton(services => new EdgeMetrics(
                services.GetRequiredService<EdgeState>(), services.GetRequiredService<TimeProvider>(), settings.MaxSnapshotAge, services.GetService<IMeterFactory>()));
            metrics.WithMetrics(m => m.AddMeter(ProxyServer.MeterName, EdgeMetrics.MeterName));
        }

        if (settings.Cluster.HostsGrains)
        {
            metrics.WithMetrics(m => m.AddMeter(OrleansGateway.Grains.CertificateMetrics.MeterName));
        }

        if (settings.ConfigPath is not null)
        {
            builder.Services.AddSingleton(new ConfigDirectoryOptions(settings.ConfigPath, settings.AmbassadorId, settings.Compile));
            builder.Services.AddHostedService<ConfigDirectorySource>();
        }

        if (settings.Kubernetes is { } kubernetes)
        {
            AddKubernetes(builder, settings, kubernetes);
            metrics.WithMetrics(m => m.AddMeter(KubernetesHealth.MeterName));
        }

        configure?.Invoke(builder);
        await using var app = builder.Build();
        var c = settings.Cluster;
        Log.Starting(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansGateway.Silo"),
            c.Role, c.Storage, c.Clustering, c.ClusterId, c.ServiceId, c.SiloPort, c.GatewayPort, settings.ApiUrl);
        app.MapManagementApi();
        if (hasAdminKey)
        {
            app.MapOrleansDashboard(ApiSetup.DashboardPath).RequireAuthorization(ApiPolicies.Admin);
        }

        if (settings.Cluster.ServesTraffic)
        {
            // Its gauges are read when /metrics is scraped; they exist once it is built.
            app.Services.GetRequiredService<EdgeMetrics>();
        }

        app.MapGatewayEndpoints();
        app.MapPrometheusScrapingEndpoint(ApiSetup.MetricsPath).RequireAuthorization(ApiPolicies.Metrics);

        try
        {
            await app.RunAsync(stop);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (StartFailureIn(e) is { } failure)
        {
            await error.WriteLineAsync($"gateway: {failure.Message}");
            return ExitCodes.Failed;
        }
        catch (IOException e)
        {
            // Kestrel could not bind --api-url (address in use, no permission).
            await error.WriteLineAsync($"gateway: cannot serve --api-url {settings.ApiUrl}: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>The host rethrows a hosted service's failure to start, alone or among others.</summary>
    private static StartFailure? StartFailureIn(Exception e) =>
        e as StartFailure ?? (e as AggregateException)?.Flatten().InnerExceptions.OfType<StartFailure>().FirstOrDefault();

    /// <summary>
    /// <c>--kubernetes</c> (docs/kubernetes.md): silos that host grains run the source (one writer at a time); silos
    /// that serve traffic watch endpoints for their data plane and, with <c>--kubernetes-service</c>, keep that Service's
    /// ports equal to what they have bound (one writer at a time).
    /// </summary>
    private static void AddKubernetes(WebApplicationBuilder builder, GatewaySettings settings, KubernetesSettings kubernetes)
    {
        builder.Services.AddKubernetes(
            services => new KubernetesOptions
            {
                AmbassadorId = settings.AmbassadorId,
                AmbassadorNamespace = settings.Compile.AmbassadorNamespace,
                DefaultTenant = kubernetes.DefaultTenant,
                Namespaces = kubernetes.Namespaces,

                // Unique per process, readable in Events: the pod (or silo) name and the silo's address.
                Holder = $"{settings.Cluster.SiloName ?? Environment.MachineName}/{services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString()}",
            },
            kubernetes.Cluster);
        if (settings.Cluster.HostsGrains)
        {
            builder.Services.AddKubernetesSource();
        }

        if (settings.Cluster.ServesTraffic)
        {
            builder.Services.AddKubernetesEndpoints();
            if (kubernetes.Service is { } service)
            {
                builder.Services.AddKubernetesServicePorts(service, services =>
                {
                    var edges = services.GetRequiredService<EdgeState>();
                    return () => edges.Edge?.Apply.Listeners.Where(l => l.Bound).Select(l => l.Endpoint.Port).ToHashSet();
                });
            }
        }
    }

    private static int UsageError(TextWriter error, IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            error.WriteLine($"gateway: {problem}");
        }

        error.WriteLine("Run with --help for the options.");
        return ExitCodes.Usage;
    }
}
