using System.Collections.Immutable;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>Every Model record crosses grain calls and grain state through the JSON codec: each must round-trip whole.</summary>
public sealed class SerializationTests
{
    private static readonly ServiceProvider Services = new ServiceCollection()
        .AddSerializer(s => s.AddGatewayModelSerializer())
        .BuildServiceProvider();

    private static readonly Serializer Serializer = Services.GetRequiredService<Serializer>();

    public static TheoryData<string> ResourceNames => [.. AllResources().Select(r => r.Name)];

    [Theory]
    [MemberData(nameof(ResourceNames))]
    public void Every_resource_round_trips_as_a_Resource_inside_a_grain_message(string name)
    {
        var resource = AllResources().Single(r => r.Name == name);
        var request = new ApplyRequest([resource], ApplyMode.Strict, "api");

        var copy = Serializer.Deserialize<ApplyRequest>(Serializer.SerializeToArray(request))!;

        var back = Assert.Single(copy.Resources);
        Assert.IsType(resource.GetType(), back);
        Assert.Equal(Json(resource), Json(back));
        Assert.Equal(resource.Ref, back.Ref);
    }

    [Theory]
    [MemberData(nameof(ResourceNames))]
    public void Every_resource_round_trips_through_System_Text_Json_as_the_abstract_type(string name)
    {
        var resource = AllResources().Single(r => r.Name == name);
        var back = JsonSerializer.Deserialize<Resource>(JsonSerializer.Serialize<Resource>(resource));
        Assert.IsType(resource.GetType(), back);
        Assert.Equal(Json(resource), Json(back!));
    }

    [Fact]
    public void A_compiled_plan_and_its_statuses_round_trip_with_every_plan_record()
    {
        var result = GatewayCompiler.Compile(new CompileInput(AllResources(), "default", new CompileOptions(Tenant: "t-json")));
        var plan = result.Plan;
        var listener = Assert.Single(plan.Listeners);

        // The compile must exercise every plan record, or the round trip below proves less than it claims.
        var sni = Assert.Single(listener.SniRoutes);
        Assert.NotNull(sni.Termination!.ClientCa);
        var upstream = Assert.Single(sni.Route.Upstreams);
        Assert.NotNull(upstream.Origination);
        Assert.NotNull(listener.CatchAll);
        Assert.Equal("t-json", sni.Termination!.Certificate.Tenant);

        var slice = new ListenerSlice(ListenerKey.For("default", listener.Endpoint), 7, listener);
        var sliceCopy = Serializer.Deserialize<ListenerSlice>(Serializer.SerializeToArray(slice))!;
        Assert.Equal(Json(listener), Json(sliceCopy.Plan!));
        Assert.Equal("t-json", sliceCopy.Plan!.SniRoutes[0].Termination!.Certificate.Tenant);
        Assert.Equal(slice.Key, sliceCopy.Key);

        // What an edge fetches: one tenant's part and a removed tenant.
        var changes = new ListenerChanges(slice.Key, Guid.NewGuid(), 8, false, [new ListenerPart("t-json", 3, listener)], ["t-gone"]);
        var changesCopy = Serializer.Deserialize<ListenerChanges>(Serializer.SerializeToArray(changes))!;
        Assert.Equal((changes.Key, changes.Lineage, changes.Version, changes.Full), (changesCopy.Key, changesCopy.Lineage, changesCopy.Version, changesCopy.Full));
        var part = Assert.Single(changesCopy.Changed);
        Assert.Equal(("t-json", 3L, Json(listener)), (part.Tenant, part.Sequence, Json(part.Plan)));
        Assert.Equal(["t-gone"], changesCopy.Removed);

        var outcome = new ApplyOutcome(true, result.Statuses, result.Diagnostics, 3);
        var outcomeCopy = Serializer.Deserialize<ApplyOutcome>(Serializer.SerializeToArray(outcome))!;
        Assert.Equal(Json(outcome.Statuses), Json(outcomeCopy.Statuses));
        Assert.Equal(Json(outcome.Diagnostics), Json(outcomeCopy.Diagnostics));

        var planCopy = Serializer.Deserialize<GatewayPlan>(Serializer.SerializeToArray(plan))!;
        Assert.Equal(Json(plan), Json(planCopy));
    }

    /// <summary>Model records travel under <c>OrleansGateway.Model.&lt;Name&gt;</c> whatever their namespace (ModelTypeNames): two public types of one name would be one wire name.</summary>
    [Fact]
    public void Every_public_model_type_has_its_own_simple_name()
    {
        var clashes = typeof(GatewayPlan).Assembly.GetExportedTypes().Where(t => !t.IsNested)
            .GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => string.Join(", ", g.Select(t => t.FullName)));

        Assert.Empty(clashes);
    }

    [Fact]
    public void A_quota_with_and_without_port_ranges_round_trips()
    {
        foreach (var quota in new[] { TenantQuota.Unlimited, new TenantQuota([new PortRange(1, 2)], 1, 2, 3) })
        {
            var copy = Serializer.Deserialize<TenantQuota>(Serializer.SerializeToArray(quota))!;
            Assert.Equal(quota.AllowedPorts?.ToArray(), copy.AllowedPorts?.ToArray());
            Assert.Equal((quota.MaxListeners, quota.MaxMappings, quota.MaxConcurrentConnections), (copy.MaxListeners, copy.MaxMappings, copy.MaxConcurrentConnections));
        }
    }

    /// <summary>
    /// Orleans writes a type's or a grain method's alias where it has one, else a name made of its namespace and
    /// signature: with an alias everywhere, moving a type to another namespace or project changes no stored or sent byte.
    /// </summary>
    [Fact]
    public void Every_serialized_type_grain_interface_and_grain_method_has_an_explicit_alias()
    {
        var types = new[] { typeof(ITenantGrain).Assembly, typeof(TenantGrain).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => t.Namespace?.StartsWith("OrleansGateway.", StringComparison.Ordinal) == true)
            .ToList();
        var serialized = types.Where(t => t.IsDefined(typeof(GenerateSerializerAttribute), false)).ToList();
        var interfaces = types.Where(t => t.IsInterface && typeof(IAddressable).IsAssignableFrom(t)).ToList();
        Assert.Contains(typeof(TenantState), serialized);
        Assert.Contains(typeof(ITenantGrain), interfaces);

        var missing = serialized.Concat(interfaces).Where(t => !t.IsDefined(typeof(AliasAttribute), false)).Select(t => t.FullName)
            .Concat(interfaces.SelectMany(i => i.GetMethods()).Where(m => !m.IsDefined(typeof(AliasAttribute), false)).Select(m => $"{m.DeclaringType!.Name}.{m.Name}"));

        Assert.Empty(missing);
    }

    /// <summary>
    /// Listener grains store plans. A plan stored before host names were canonical has the host as the old compiler
    /// wrote it (lower-cased, perhaps with a trailing dot) beside its kind: the codec reads it as the canonical pattern,
    /// and still writes the kind beside it for the builds that read it from there.
    /// </summary>
    [Fact]
    public void A_listener_plan_stored_before_host_patterns_reads_back_with_the_canonical_host()
    {
        var options = Services.GetRequiredService<IOptions<JsonCodecOptions>>().Value.SerializerOptions;
        var listener = Assert.Single(GatewayCompiler.Compile(new CompileInput(AllResources(), "default")).Plan.Listeners);
        var json = JsonSerializer.Serialize(listener, options);
        Assert.Contains("\"Host\":\"a.json.test\",\"Kind\":0,", json, StringComparison.Ordinal);

        var stored = json.Replace("\"Host\":\"a.json.test\"", "\"Host\":\"a.json.test.\"", StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize<ListenerPlan>(stored, options)!;

        Assert.Equal(HostPattern.Parse("a.json.test"), Assert.Single(back.SniRoutes).Host);
        Assert.Equal(json, JsonSerializer.Serialize(back, options));
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    /// <summary>One of each resource kind with most fields set; compiled together they give a plan with every plan record.</summary>
    private static ImmutableArray<Resource> AllResources()
    {
        var (crt, key, _) = Res.SelfSigned("a.json.test");
        var source = new SourceLocation("dir/a.yaml", 1, 3);
        return
        [
            new SecretResource { Name = "cert", ApiVersion = "v1", Type = "kubernetes.io/tls", TlsCrt = crt, TlsKey = key, Source = source },
            new SecretResource { Name = "ca", ApiVersion = "v1", CaCrt = crt },
            new TlsContextResource
            {
                Name = "ctx", Hosts = ["a.json.test"], Secret = "cert", SecretNamespacing = true,
                Tls = new TlsParameters { MinTlsVersion = "v1.2", MaxTlsVersion = "v1.3", AlpnProtocols = ["h2"], CaSecret = "ca", CertRequired = false, Sni = "up.json.test" },
            },
            new HostResource { Name = "host", Hostname = "a.json.test", TlsSecretName = "cert", TlsContextName = "ctx", Labels = ImmutableDictionary<string, string>.Empty.Add("app", "x") },
            new ListenerResource { Name = "listener", Port = 8443, Protocol = "TLS", SecurityModel = "SECURE", HasHostBinding = true, StatsPrefix = "tls" },
            new ModuleResource { Name = "ambassador", IdleTimeoutMs = 1000, CircuitBreakers = [new CircuitBreakerSpec { MaxConnections = 5 }] },
            new ResolverResource { Name = "consul-dc2", ResolverKind = ResolverKind.Consul, Datacenter = "dc2", Address = "127.0.0.1:8500" },
            new TcpMapping
            {
                Name = "sni", Port = 8443, Host = "a.json.test", Service = "https://up.json.test:9443", Tls = "ctx", Weight = 100,
                EnableIpv6 = false, CircuitBreakers = [], ConnectTimeoutMs = 500, StatsName = "sni-stats", ClusterTag = "blue", AmbassadorId = ["default"],
            },
            new TcpMapping { Name = "fallback", Port = 8443, Service = "127.0.0.1:22", Resolver = "kubernetes-endpoint" },
            new InvalidResource
            {
                Name = "broken", OriginalKind = "TCPMapping", Source = source,
                Errors = [new Diagnostic(Severity.Error, "field.type", "spec.port must be an integer", new ResourceRef("TCPMapping", "default", "broken"), source, "spec.port")],
            },
            new ForeignResource { Name = "svc", OriginalKind = "Service", ApiVersion = "v1" },
        ];
    }
}
