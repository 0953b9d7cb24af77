using System.Collections.Immutable;
using System.Text.Json;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>Builds resources as records (no YAML) and runs the compiler; small helpers to read the result.</summary>
internal static class Res
{
    public static TcpMapping Tcp(string name, int port, string service, string? host = null, string ns = "default") =>
        new() { Name = name, Namespace = ns, Port = port, Service = service, Host = host };

    public static SecretResource TlsSecret(string name, string ns = "default") =>
        new() { Name = name, Namespace = ns, ApiVersion = "v1", Type = "kubernetes.io/tls", TlsCrt = "-----CERT-----", TlsKey = "-----KEY-----" };

    public static SecretResource CaSecret(string name, string ns = "default") =>
        new() { Name = name, Namespace = ns, ApiVersion = "v1", CaCrt = "-----CA-----" };

    public static TlsContextResource Ctx(string name, string? secret, string[]? hosts = null, string ns = "default") =>
        new() { Name = name, Namespace = ns, Secret = secret, Hosts = [.. hosts ?? []] };

    public static HostResource Host(string name, string? hostname, string? tlsSecret, string ns = "default") =>
        new() { Name = name, Namespace = ns, Hostname = hostname, TlsSecretName = tlsSecret };

    public static ListenerResource Listener(string name, int port, string? protocol, string? securityModel = "XFP", string ns = "default") =>
        new() { Name = name, Namespace = ns, Port = port, Protocol = protocol, SecurityModel = securityModel, HasHostBinding = true };

    public static ModuleResource Module(string ns = "default") => new() { Name = "ambassador", Namespace = ns };

    public static CompileResult Compile(params Resource[] resources) => Compile(null, resources);

    public static CompileResult Compile(CompileOptions? options, params Resource[] resources) =>
        GatewayCompiler.Compile(new CompileInput([.. resources], "default", options));

    public static ResourceStatus Status(this CompileResult result, Resource resource) =>
        result.Statuses.Single(s => s.Resource == resource.Ref);

    public static ResourceState State(this CompileResult result, Resource resource) => result.Status(resource).State;

    public static string AllMessages(this CompileResult result, Resource resource) => string.Join("\n", result.Status(resource).Messages);

    /// <summary>Every upstream in the plan, whatever listener or route it is on.</summary>
    public static IEnumerable<UpstreamPlan> Upstreams(this CompileResult result) =>
        result.Plan.Listeners.SelectMany(l => l.SniRoutes.Select(r => r.Route).Append(l.CatchAll)).OfType<RoutePlan>().SelectMany(r => r.Upstreams);

    public static UpstreamPlan Upstream(this CompileResult result, Resource mapping) =>
        result.Upstreams().Single(u => u.Mapping == mapping.Ref);

    public static ListenerPlan Listener(this CompileResult result, int port) =>
        result.Plan.Listeners.Single(l => l.Endpoint.Port == port);

    /// <summary>A canonical text of the whole result: records hold ImmutableArrays, which compare by reference.</summary>
    public static string Canonical(this CompileResult result) => JsonSerializer.Serialize(result);

    public static ImmutableArray<CircuitBreakerSpec> Breakers(params CircuitBreakerSpec[] specs) => [.. specs];

    /// <summary>Asserts the resource was discarded and a message contains each fragment.</summary>
    public static void AssertDiscarded(this CompileResult result, Resource resource, params string[] fragments)
    {
        var status = result.Status(resource);
        Assert.True(status.State == ResourceState.Discarded, $"{resource.Ref} is {status.State}: {string.Join(" | ", status.Messages)}");
        var all = string.Join("\n", status.Messages);
        foreach (var f in fragments)
        {
            Assert.Contains(f, all, StringComparison.Ordinal);
        }
    }

    public static void AssertAccepted(this CompileResult result, Resource resource)
    {
        var status = result.Status(resource);
        Assert.True(status.State == ResourceState.Accepted, $"{resource.Ref} is {status.State}: {string.Join(" | ", status.Messages)}");
    }
}
