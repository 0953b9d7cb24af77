using System.CommandLine;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>
/// The gateway host. For now a plain ASP.NET Core application: the config directory is the only source of resources
/// and the proxy serves the compiled plan; the Orleans control plane replaces the source in a later issue.
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, Console.Out, Console.Error, CancellationToken.None);

    /// <summary>Runs until <paramref name="stop"/> fires, SIGTERM or Ctrl+C; what tests call in-process.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken stop)
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
                ? await ServeAsync(settings, error, cancellationToken)
                : UsageError(error, [problem]);
        });

        // The host, not System.CommandLine, handles SIGTERM and Ctrl+C, so that shutdown disposes the proxy in order.
        var invocation = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        return await parsed.InvokeAsync(invocation, stop);
    }

    private static async Task<int> ServeAsync(GatewaySettings settings, TextWriter error, CancellationToken stop)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(settings.ApiUrl.ToString());

        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<GatewayState>();
        // Disposed by the container when the host stops, after the config source has stopped applying plans.
        builder.Services.AddSingleton(services => new ProxyServer(
            settings.Proxy,
            services.GetRequiredService<ILoggerFactory>(),
            services.GetRequiredService<TimeProvider>(),
            meterFactory: services.GetService<IMeterFactory>()));
        builder.Services.AddHostedService<ConfigDirectorySource>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("orleans-gateway"))
            .WithMetrics(metrics => metrics.AddMeter(ProxyServer.MeterName).AddPrometheusExporter());

        await using var app = builder.Build();
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
