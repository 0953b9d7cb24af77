using System.CommandLine;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orleans.Dashboard;
using OrleansGateway.Api;
using OrleansGateway.Edge;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;
using OrleansGateway.Sources.ConfigDirectory;

namespace OrleansGateway.Silo;

/// <summary>
/// The gateway process: an Orleans silo inside an ASP.NET Core application. By role it hosts the control plane's
/// grains (core), the data plane fed by an edge route cache (edge), or both (all); the config directory, when given,
/// is one source of the tenant grains.
/// </summary>
public static class Program
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(15);

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
            if (settings.AdminKey is not null)
            {
                silo.AddDashboard();
            }
        });
        builder.AddManagementApi(new ApiOptions(settings.AmbassadorId, settings.Compile, settings.AdminKey, HasCertificateSource: settings.KeyVault is not null)
        {
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
                meterFactory: services.GetService<IMeterFactory>()));
            builder.Services.AddSingleton(services => new EdgeOptions(
                settings.AmbassadorId, services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString()));
            builder.Services.AddHostedService<EdgeService>();
            metrics.WithMetrics(m => m.AddMeter(ProxyServer.MeterName));
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

        configure?.Invoke(builder);
        await using var app = builder.Build();
        var c = settings.Cluster;
        Log.Starting(app.Logger, c.Role, c.Storage, c.Clustering, c.ClusterId, c.ServiceId, c.SiloPort, c.GatewayPort);
        app.MapManagementApi();
        if (settings.AdminKey is not null)
        {
            app.MapOrleansDashboard(ApiSetup.DashboardPath).RequireAuthorization(ApiPolicies.Admin);
        }

        app.MapGatewayEndpoints();
        app.MapPrometheusScrapingEndpoint();

        try
        {
            await app.RunAsync(stop);
            return ExitCodes.Ok;
        }
        catch (IOException e)
        {
            // Kestrel could not bind --api-url (address in use, no permission).
            await error.WriteLineAsync($"gateway: cannot serve --api-url {settings.ApiUrl}: {e.Message}");
            return ExitCodes.Failed;
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
