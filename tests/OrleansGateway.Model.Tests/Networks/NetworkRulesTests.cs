using System.Collections.Frozen;
using System.Net;
using OrleansGateway.Model.Networks;

namespace OrleansGateway.Model.Tests.Networks;

/// <summary>The address rules of egress and ingress (docs/data-plane.md "Protected upstreams", docs/control-plane.md "Egress").</summary>
public sealed class NetworkRulesTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData(" 10.1.2.3 ", "10.1.2.3/32")]
    [InlineData("2001:DB8::/32", "2001:db8::/32")]
    [InlineData("::1", "::1/128")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("::ffff:10.0.0.0/104", "10.0.0.0/8")]
    public void Ranges_read_in_canonical_form(string text, string canonical)
    {
        Assert.True(Addresses.TryParseNetwork(text, out var network, out var error), error);
        Assert.Equal(canonical, network.ToString());
    }

    [Theory]
    [InlineData("10.0.0.1/8", "written 10.0.0.0/8")]
    [InlineData("10.0.0.0/33", "from 0 to 32")]
    [InlineData("10.0.0.0/", "from 0 to 32")]
    [InlineData("10.0", "not an address range")]
    [InlineData("fe80::1%eth0", "not an address range")]
    [InlineData("db.example.com/24", "not an address range")]
    public void Bad_ranges_say_what_to_write(string text, string hint)
    {
        Assert.False(Addresses.TryParseNetwork(text, out _, out var error));
        Assert.Contains(hint, error);
        Assert.Contains(text.Trim(), error);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1", true)]
    [InlineData("::ffff:127.0.0.1", "127.0.0.1", true)]
    [InlineData("0.0.0.0", "127.0.0.1", true)]
    [InlineData("0.0.0.0", "10.1.2.3", true)]
    [InlineData("0.0.0.0", "::1", false)]
    [InlineData("::", "127.0.0.1", true)]
    [InlineData("::", "::1", true)]
    [InlineData("::", "0.0.0.0", true)]
    [InlineData("127.0.0.1", "127.0.0.2", false)]
    [InlineData("::1", "127.0.0.1", false)]
    [InlineData("::ffff:0.0.0.0", "127.0.0.1", true)]
    public void Listen_addresses_overlap_when_equal_or_one_is_the_wildcard_of_the_others_family(string a, string b, bool overlap)
    {
        Assert.Equal(overlap, Addresses.ListenOverlaps(IPAddress.Parse(a), IPAddress.Parse(b)));
        Assert.Equal(overlap, Addresses.ListenOverlaps(IPAddress.Parse(b), IPAddress.Parse(a)));
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("::ffff:10.1.2.3", true)]
    [InlineData("11.0.0.1", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("2001:db8::5", true)]
    [InlineData("2001:db9::5", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.9.9.9", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("::", false)]
    public void Addresses_are_allowed_by_ranges_and_loopback_only_by_a_range_inside_loopback(string address, bool allowed)
    {
        Assert.True(UpstreamPolicy.TryParse(["10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0", "db.example.com"], out var policy, out _));

        Assert.Equal(allowed, policy.AllowsAddress(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("127.0.0.2", false)]
    [InlineData("::1", false)]
    [InlineData("0.0.0.0", false)]
    public void A_loopback_range_grants_exactly_its_loopback_addresses(string address, bool allowed)
    {
        Assert.True(UpstreamPolicy.TryParse(["127.0.0.1"], out var policy, out _));

        Assert.Equal(allowed, policy.AllowsAddress(IPAddress.Parse(address)));
        Assert.True(UpstreamPolicy.Unlimited.AllowsAddress(IPAddress.Parse(address)));
        Assert.False(UpstreamPolicy.Nothing.AllowsAddress(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("db.example.com", true)]
    [InlineData("DB.Example.COM.", true)]
    [InlineData("x.svc.cluster.local", true)]
    [InlineData("a.b.svc.cluster.local", true)]
    [InlineData("svc.cluster.local", false)]
    [InlineData("other.example.com", false)]
    [InlineData("under_score.svc.cluster.local", false)]
    public void Names_are_allowed_by_globs(string name, bool allowed)
    {
        Assert.True(UpstreamPolicy.TryParse(["db.example.com", "*.svc.cluster.local", "10.0.0.0/8"], out var policy, out _));

        Assert.Equal(allowed, policy.AllowsName(name));
        Assert.True(UpstreamPolicy.TryParse(["*"], out var any, out _));
        Assert.True(any.AllowsName(name));
    }

    [Fact]
    public void Entries_are_kept_canonical_and_a_bad_one_is_named_by_its_index()
    {
        Assert.True(UpstreamPolicy.TryParse(["10.1.2.3", "*.Bücher.TEST.", "2001:DB8::/32"], out var policy, out _));
        Assert.Equal(["10.1.2.3/32", "*.xn--bcher-kva.test", "2001:db8::/32"], policy.Entries!.Value);

        Assert.False(UpstreamPolicy.TryParse(["10.0.0.0/8", "a*.example.com"], out _, out var error));
        Assert.StartsWith("[1]: 'a*.example.com'", error);
        Assert.Null(UpstreamPolicy.Unlimited.Entries);
    }

    [Theory]
    [InlineData("169.254.169.254", 80, "metadata")]
    [InlineData("fd00:ec2::254", 80, "metadata")]
    [InlineData("168.63.129.16", 53, "WireServer")]
    [InlineData("169.254.10.1", 80, "link-local")]
    [InlineData("fe80::1", 80, "link-local")]
    [InlineData("127.0.0.1", 30000, "gateway itself")]
    [InlineData("0.0.0.0", 30000, "gateway itself")]
    [InlineData("::ffff:10.9.9.9", 11111, "gateway itself")]
    [InlineData("10.9.9.9", 7000, "gateway itself")]
    public void The_gateways_own_rules_refuse_whatever_the_quota(string address, int port, string why)
    {
        var reserved = ReservedEndpoints.None.With([IPAddress.Parse("10.9.9.9")], [30000, 11111, 7000]);

        Assert.Contains(why, GatewayEgress.Default.Refusal(new IPEndPoint(IPAddress.Parse(address), port), reserved));
    }

    [Theory]
    [InlineData("127.0.0.1", 9000)]
    [InlineData("10.9.9.9", 9000)]
    [InlineData("10.9.9.8", 30000)]
    [InlineData("192.0.2.1", 80)]
    public void Other_endpoints_pass_the_gateways_own_rules(string address, int port)
    {
        var reserved = new ReservedEndpoints([IPAddress.Parse("10.9.9.9")], new[] { 30000 }.ToFrozenSet());

        Assert.Null(GatewayEgress.Default.Refusal(new IPEndPoint(IPAddress.Parse(address), port), reserved));
    }

    [Fact]
    public void An_operator_range_opens_every_built_in_rule_inside_it()
    {
        var egress = new GatewayEgress([IPNetwork.Parse("168.63.129.16/32"), IPNetwork.Parse("169.254.0.0/16")], allowLinkLocal: false);
        var reserved = ReservedEndpoints.None.With([], [30000]);

        Assert.Null(egress.Refusal(new IPEndPoint(IPAddress.Parse("168.63.129.16"), 80), reserved));
        Assert.Null(egress.Refusal(new IPEndPoint(IPAddress.Parse("169.254.169.254"), 80), reserved));
        Assert.NotNull(egress.Refusal(new IPEndPoint(IPAddress.Parse("fd00:ec2::254"), 80), reserved));
        Assert.NotNull(egress.Refusal(new IPEndPoint(IPAddress.Loopback, 30000), reserved));
    }
}
