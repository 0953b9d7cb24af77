using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGateway.Sources.Kubernetes.Endpoints;
using OrleansGateway.Sources.Kubernetes.Services;
using OrleansGateway.Sources.Kubernetes.Source;

namespace OrleansGateway.Sources.Kubernetes;

/// <summary>What the composition root registers for <c>--kubernetes</c>, by what the silo does.</summary>
public static class KubernetesServices
{
    /// <summary>The client, the health (for <c>/readyz</c> and metrics) and the writer lease: every role with <c>--kubernetes</c>.</summary>
    /// <param name="options">Made once the silo is built (the writer's name includes the silo's address).</param>
    public static IServiceCollection AddKubernetes(this IServiceCollection services, Func<IServiceProvider, KubernetesOptions> options, KubernetesClientConfiguration cluster)
    {
        services.AddSingleton(options);
        services.AddSingleton<IKubernetes>(_ => new k8s.Kubernetes(cluster));
        services.AddSingleton(sp => new KubernetesHealth(sp.GetRequiredService<TimeProvider>(), sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(sp => new SingleWriter(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<KubernetesOptions>().Holder,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SingleWriter>>()));
        return services;
    }

    /// <summary>Emissary's resources applied to the tenant grains, statuses written back (silos that host grains).</summary>
    public static IServiceCollection AddKubernetesSource(this IServiceCollection services) => services.AddHostedService<KubernetesSource>();

    /// <summary>Services and EndpointSlices watched for <c>KubernetesEndpointResolver</c> (silos that serve traffic).</summary>
    public static IServiceCollection AddKubernetesEndpoints(this IServiceCollection services)
    {
        services.AddSingleton<KubernetesEndpoints>();
        return services.AddHostedService<KubernetesEndpointFeed>();
    }

    /// <summary><c>--kubernetes-service</c>: the Service's ports kept equal to <paramref name="boundPorts"/> (silos that serve traffic).</summary>
    public static IServiceCollection AddKubernetesServicePorts(
        this IServiceCollection services, ServiceRef service, Func<IServiceProvider, Func<IReadOnlySet<int>?>> boundPorts) =>
        services.AddSingleton<IHostedService>(sp => new ServicePortWriter(
            service,
            boundPorts(sp),
            sp.GetRequiredService<IKubernetes>(),
            sp.GetRequiredService<SingleWriter>(),
            sp.GetRequiredService<KubernetesHealth>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ServicePortWriter>>()));
}
