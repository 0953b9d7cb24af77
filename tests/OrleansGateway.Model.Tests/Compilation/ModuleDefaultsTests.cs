using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// The ambassador Module's defaults (docs/tcpmapping-semantics.md, "The ambassador Module": IPv4 and IPv6 both on
/// unless changed; connect 3 s; no idle timeout).
/// </summary>
public sealed class ModuleDefaultsTests
{
    // module ipv4, module ipv6, mapping ipv4, mapping ipv6, expected ipv4, expected ipv6 (null expected: discarded)
    public static TheoryData<bool?, bool?, bool?, bool?, bool?, bool?> Families => new()
    {
        { null, null, null, null, true, true },
        { null, false, null, null, true, false },
        { false, null, null, null, false, true },
        { false, null, true, null, true, true },
        { null, null, false, null, false, true },
        { null, null, false, false, null, null },
        { false, false, null, null, null, null },
        { false, false, null, true, false, true },
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void Ip_families_come_from_the_mapping_then_the_module_then_true(bool? m4, bool? m6, bool? t4, bool? t6, bool? e4, bool? e6)
    {
        var module = Res.Module() with { EnableIpv4 = m4, EnableIpv6 = m6 };
        var m = Res.Tcp("m", 2222, "up") with { EnableIpv4 = t4, EnableIpv6 = t6 };

        var result = Res.Compile(module, m);

        if (e4 is null)
        {
            result.AssertDiscarded(m, "enable_ipv4 and enable_ipv6 are both false");
            return;
        }

        var u = result.Upstream(m);
        Assert.Equal((e4.Value, e6!.Value), (u.EnableIpv4, u.EnableIpv6));
    }

    // module idle, mapping idle, expected ms (null = none)
    public static TheoryData<long?, long?, long?> Idle => new()
    {
        { null, null, null },
        { 5000, null, 5000 },
        { 5000, 7000, 7000 },
        { 5000, 0, -1 }, // explicit 0: none (infinite); unset: null, the data plane's default
        { null, 250, 250 },
    };

    [Theory]
    [MemberData(nameof(Idle))]
    public void Idle_timeout_comes_from_the_mapping_then_the_module_else_the_default_and_0_is_none(long? module, long? mapping, long? expected)
    {
        var m = Res.Tcp("m", 2222, "up") with { IdleTimeoutMs = mapping };

        var result = Res.Compile(Res.Module() with { IdleTimeoutMs = module }, m);

        Assert.Equal(expected is null ? null : TimeSpan.FromMilliseconds(expected.Value), result.Upstream(m).IdleTimeout);
    }

    [Theory]
    [InlineData(null, null, 3000)]
    [InlineData(1000L, null, 1000)]
    [InlineData(1000L, 250L, 250)]
    public void Connect_timeout_defaults_to_3_seconds(long? module, long? mapping, long expected)
    {
        var m = Res.Tcp("m", 2222, "up") with { ConnectTimeoutMs = mapping };

        var result = Res.Compile(Res.Module() with { ConnectTimeoutMs = module }, m);

        Assert.Equal(TimeSpan.FromMilliseconds(expected), result.Upstream(m).ConnectTimeout);
    }

    [Fact]
    public void Connect_timeout_0_means_none()
    {
        var m = Res.Tcp("m", 2222, "up") with { ConnectTimeoutMs = 0 };

        Assert.Equal(Timeout.InfiniteTimeSpan, Res.Compile(m).Upstream(m).ConnectTimeout);
    }

    [Fact]
    public void Negative_timeouts_discard()
    {
        var idle = Res.Tcp("a", 2222, "up") with { IdleTimeoutMs = -1 };
        var connect = Res.Tcp("b", 2223, "up") with { ConnectTimeoutMs = -5 };

        var result = Res.Compile(idle, connect);

        result.AssertDiscarded(idle, "idle_timeout_ms -1 is negative");
        result.AssertDiscarded(connect, "connect_timeout_ms -5 is negative");
    }

    [Fact]
    public void Only_the_first_ambassador_module_by_namespace_applies()
    {
        var kept = Res.Module("aaa") with { IdleTimeoutMs = 1000 };
        var other = Res.Module("zzz") with { IdleTimeoutMs = 9000 };
        var tls = new ModuleResource { Name = "tls" };
        var m = Res.Tcp("m", 2222, "up");

        var result = Res.Compile(other, m, tls, kept);

        result.AssertAccepted(kept);
        result.AssertDiscarded(other, kept.Ref.ToString());
        Assert.Equal(ResourceState.Ignored, result.State(tls));
        Assert.Equal(TimeSpan.FromSeconds(1), result.Upstream(m).IdleTimeout);
        Assert.Equal(kept.Ref, result.Diagnostics.Single(d => d.Resource == other.Ref).Related);
    }
}
