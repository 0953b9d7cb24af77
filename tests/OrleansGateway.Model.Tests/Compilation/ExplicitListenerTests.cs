using System.Collections.Immutable;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "Explicit Listener resources": Listener resources, protocol vs protocolStack, host vs
/// stack.
/// </summary>
public sealed class ExplicitListenerTests
{
    private static readonly Resource[] Certificates = [Res.Ctx("ctx", "cert", ["db.example.com"]), Res.TlsSecret("cert")];

    // protocol, protocolStack, TLS inspected (null = Listener discarded), message fragment
    public static TheoryData<string?, string[]?, bool?, string> Protocols => new()
    {
        { "TCP", null, false, "" },
        { "tls", null, true, "" },
        { "HTTPS", null, true, "serves no HTTP" },
        { "HTTP", null, false, "serves no HTTP" },
        { null, ["TLS", "TCP"], true, "" },
        { "TCP", ["TLS", "TCP"], true, "using protocolStack and ignoring protocol 'TCP'" },
        { "UDP", null, null, "protocol UDP" },
        { null, null, null, "one of protocol and protocolStack must be set" },
        { null, ["TLS"], null, "must end with TCP" },
        { null, ["TCP", "UDP"], null, "must end with TCP" },
        { "HTTPPROXY", null, false, "serves no HTTP" },
        { null, ["PROXY", "TCP"], false, "" },
        { null, ["PROXY", "TLS", "TCP"], true, "" },
        { "SCTP", null, null, "protocol 'SCTP' is unknown" },
    };

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Protocol_and_stack(string? protocol, string[]? stack, bool? inspected, string message)
    {
        var listener = Res.Listener("l", 9000, protocol) with { ProtocolStack = stack is null ? null : [.. stack] };
        var tls = Res.Tcp("tls", 9000, "db:5432", host: "db.example.com");

        var result = Res.Compile([listener, tls, .. Certificates]);

        Assert.Contains(message, result.AllMessages(listener), StringComparison.Ordinal);
        if (inspected is null)
        {
            result.AssertDiscarded(listener, "falls back to an automatic Listener");
            var auto = result.Listener(9000);
            Assert.Null(auto.Source);
            Assert.Equal("listener-0.0.0.0-9000", auto.Name);
            Assert.True(auto.TlsInspected);
            return;
        }

        result.AssertAccepted(listener);
        Assert.Equal(inspected.Value ? ResourceState.Accepted : ResourceState.Discarded, result.State(tls));
        if (!inspected.Value)
        {
            // The only mapping needs SNI, which this stack cannot read: nothing is left to bind.
            Assert.Empty(result.Plan.Listeners);
            return;
        }

        var plan = result.Listener(9000);
        Assert.Equal(listener.Ref, plan.Source);
        Assert.Equal("l", plan.Name);
        Assert.True(plan.TlsInspected);
        Assert.Contains(listener.Ref, plan.Resources);
    }

    /// <summary>PROXY anywhere in the stack (as Emissary reads it) makes the listener require a PROXY protocol header.</summary>
    [Theory]
    [InlineData(new[] { "PROXY", "TCP" }, null, true)]
    [InlineData(new[] { "PROXY", "TLS", "TCP" }, "db.example.com", true)]
    [InlineData(new[] { "TLS", "PROXY", "TCP" }, "db.example.com", true)]
    [InlineData(new[] { "TLS", "TCP" }, "db.example.com", false)]
    [InlineData(new[] { "TCP" }, null, false)]
    public void Proxy_in_the_stack_requires_a_header(string[] stack, string? host, bool proxy)
    {
        var listener = Res.Listener("l", 9000, null) with { ProtocolStack = [.. stack] };
        var m = Res.Tcp("m", 9000, "db:5432", host: host);

        var result = Res.Compile([listener, m, .. Certificates]);

        result.AssertAccepted(listener);
        result.AssertAccepted(m);
        Assert.Equal(proxy, result.Listener(9000).ProxyProtocol);
    }

    [Fact]
    public void An_automatic_listener_never_requires_a_header()
    {
        var result = Res.Compile(Res.Tcp("m", 9000, "db:5432"));

        Assert.False(result.Listener(9000).ProxyProtocol);
    }

    [Fact]
    public void Missing_security_model_discards_the_listener()
    {
        var listener = Res.Listener("l", 9000, "TCP", securityModel: null);
        var m = Res.Tcp("m", 9000, "up");

        var result = Res.Compile(listener, m);

        result.AssertDiscarded(listener, "securityModel is required");
        Assert.Null(result.Listener(9000).Source);
        result.AssertAccepted(m);
    }

    // stack, has host, mapping discarded, message
    public static TheoryData<string, bool, bool, string> HostVsStack => new()
    {
        { "TCP", true, true, "without TLS, so no SNI can be read there" },
        { "TCP", false, false, "" },
        { "TLS", true, false, "" },
        { "TLS", false, false, "" },
        { "HTTP", false, true, "with HTTP, which cannot share a port with a raw TCP route" },
        { "HTTP", true, true, "without TLS" },
        { "HTTPS", false, true, "with HTTP" },
        { "HTTPS", true, false, "" },
    };

    [Theory]
    [MemberData(nameof(HostVsStack))]
    public void Host_must_agree_with_the_stack(string protocol, bool withHost, bool discarded, string message)
    {
        var listener = Res.Listener("l", 9000, protocol);
        var m = Res.Tcp("m", 9000, "db:5432", host: withHost ? "db.example.com" : null);

        var result = Res.Compile([listener, m, .. Certificates]);

        if (!discarded)
        {
            result.AssertAccepted(m);
            return;
        }

        result.AssertDiscarded(m, message, "Listener 'l' (namespace default)");
        Assert.Equal(listener.Ref, result.Diagnostics.Single(d => d.Resource == m.Ref && d.Severity == Severity.Error).Related);
    }

    [Fact]
    public void Invalid_host_gives_one_error_not_a_listener_error_too()
    {
        var listener = Res.Listener("l", 9000, "HTTPS");
        var m = Res.Tcp("m", 9000, "up", host: "db.example.com:9000");

        var result = Res.Compile(listener, m);

        result.AssertDiscarded(m, "contains ':' (a port?)");
        Assert.Single(result.Status(m).Messages);
    }

    [Fact]
    public void Tls_listener_with_hostless_mapping_is_whole_port_passthrough()
    {
        var listener = Res.Listener("l", 9999, "TLS") with { StatsPrefix = "custom" };
        var raw = Res.Tcp("raw", 9999, "backend:443");

        var l = Res.Compile(listener, raw).Listener(9999);

        Assert.True(l.TlsInspected);
        Assert.Empty(l.SniRoutes);
        Assert.Equal([raw.Ref], l.CatchAll!.Upstreams.Select(u => u.Mapping));
        Assert.Equal("custom", l.StatsPrefix);
    }

    [Fact]
    public void Mapping_with_another_address_never_attaches_to_a_listener()
    {
        var listener = Res.Listener("l", 9000, "HTTP");
        var local = Res.Tcp("local", 9000, "up") with { Address = "127.0.0.1" };

        var result = Res.Compile(listener, local);

        result.AssertAccepted(local);
        var l = Assert.Single(result.Plan.Listeners);
        Assert.Equal("listener-127.0.0.1-9000", l.Name);
        Assert.Contains("nothing binds it", result.AllMessages(listener), StringComparison.Ordinal);
    }

    [Fact]
    public void Listener_without_mappings_is_accepted_with_a_note()
    {
        var listener = Res.Listener("l", 9000, "TCP");

        var result = Res.Compile(listener);

        result.AssertAccepted(listener);
        Assert.Empty(result.Plan.Listeners);
        Assert.Contains(result.Diagnostics, d => d.Code == "listener.unused" && d.Severity == Severity.Info);
    }

    [Fact]
    public void Second_listener_on_a_port_is_discarded()
    {
        var first = Res.Listener("a", 9000, "TCP", ns: "aaa");
        var second = Res.Listener("a", 9000, "TLS", ns: "bbb");
        var m = Res.Tcp("m", 9000, "up");

        var result = Res.Compile(second, m, first);

        result.AssertAccepted(first);
        result.AssertDiscarded(second, first.Ref.ToString());
        Assert.Equal(first.Ref, result.Listener(9000).Source);
    }

    [Fact]
    public void Hostbinding_is_not_required()
    {
        var listener = Res.Listener("l", 9000, "TCP") with { HasHostBinding = false };

        var result = Res.Compile(listener, Res.Tcp("m", 9000, "up"));

        result.AssertAccepted(listener);
        Assert.Contains(result.Diagnostics, d => d.Code == "listener.hostbinding" && d.Severity == Severity.Warning);
    }

    [Fact]
    public void Explicit_listener_binds_the_bind_address()
    {
        var listener = Res.Listener("l", 9000, "TCP");
        var m = Res.Tcp("m", 9000, "up") with { Address = "10.1.1.1" };
        ImmutableArray<Resource> input = [listener, m];

        var result = GatewayCompiler.Compile(new CompileInput(input, "default", new CompileOptions(BindAddress: "10.1.1.1")));

        Assert.Equal(listener.Ref, result.Listener(9000).Source);
        Assert.Equal("10.1.1.1", result.Listener(9000).Endpoint.Address);
    }
}
