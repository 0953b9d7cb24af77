using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, the `circuit_breakers` field: priorities, the DEFAULT entry's thresholds, Envoy
/// defaults, Module inheritance.
/// </summary>
public sealed class CircuitBreakerTests
{
    public static TheoryData<CircuitBreakerSpec[]?, CircuitBreakerPlan> Effective => new()
    {
        { null, new(1024, 1024, 1024, 3) },
        { [], new(1024, 1024, 1024, 3) },
        { [new() { MaxConnections = 5 }], new(5, 1024, 1024, 3) },
        { [new() { Priority = "DEFAULT", MaxConnections = 1, MaxPendingRequests = 2, MaxRequests = 3, MaxRetries = 4 }], new(1, 2, 3, 4) },
        { [new() { Priority = "high", MaxConnections = 7 }], new(1024, 1024, 1024, 3) },
        { [new() { Priority = "High", MaxConnections = 7 }, new() { MaxPendingRequests = 9 }], new(1024, 9, 1024, 3) },
        { [new() { MaxConnections = 1 }, new() { Priority = "default", MaxConnections = 2 }], new(1, 1024, 1024, 3) },
    };

    [Theory]
    [MemberData(nameof(Effective))]
    public void Default_priority_thresholds_apply(CircuitBreakerSpec[]? breakers, CircuitBreakerPlan expected)
    {
        var m = Res.Tcp("m", 2222, "up") with { CircuitBreakers = breakers is null ? null : Res.Breakers(breakers) };

        var result = Res.Compile(m);

        result.AssertAccepted(m);
        Assert.Equal(expected, result.Upstream(m).CircuitBreakers);
        var hasHigh = breakers?.Any(b => string.Equals(b.Priority, "high", StringComparison.OrdinalIgnoreCase)) ?? false;
        Assert.Equal(hasHigh, result.Diagnostics.Any(d => d.Code == "breakers.high" && d.Severity == Severity.Info));
    }

    [Theory]
    [InlineData("urgent")]
    [InlineData("")]
    public void Invalid_priority_discards_the_mapping(string priority)
    {
        var m = Res.Tcp("m", 2222, "up") with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { Priority = priority }) };

        var result = Res.Compile(m);

        result.AssertDiscarded(m, "Invalid circuit_breakers", $"priority '{priority}'");
    }

    [Fact]
    public void Negative_threshold_discards_the_mapping()
    {
        var m = Res.Tcp("m", 2222, "up") with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = -1 }) };

        Res.Compile(m).AssertDiscarded(m, "Invalid circuit_breakers", "max_connections -1");
    }

    [Fact]
    public void Module_breakers_are_inherited_unless_the_mapping_sets_its_own()
    {
        var module = Res.Module() with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = 10 }) };
        var inherits = Res.Tcp("a", 2222, "up");
        var own = Res.Tcp("b", 2223, "up") with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = 20 }) };
        var none = Res.Tcp("c", 2224, "up") with { CircuitBreakers = Res.Breakers() };

        var result = Res.Compile(module, inherits, own, none);

        Assert.Equal(10, result.Upstream(inherits).CircuitBreakers.MaxConnections);
        Assert.Equal(20, result.Upstream(own).CircuitBreakers.MaxConnections);
        Assert.Equal(CircuitBreakerPlan.Default, result.Upstream(none).CircuitBreakers);
    }

    [Fact]
    public void Invalid_module_breakers_discard_every_mapping_that_inherits_them()
    {
        var module = Res.Module() with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { Priority = "bogus" }) };
        var inherits = Res.Tcp("a", 2222, "up");
        var own = Res.Tcp("b", 2223, "up") with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = 20 }) };

        var result = Res.Compile(module, inherits, own);

        result.AssertDiscarded(inherits, "Invalid circuit_breakers inherited from Module 'ambassador' (namespace default)");
        result.AssertAccepted(own);
        Assert.Contains(result.Diagnostics, d => d.Resource == module.Ref && d.Severity == Severity.Warning && d.Code == "module.circuit_breakers");
        Assert.Equal(ResourceState.Accepted, result.State(module));
    }

    [Fact]
    public void Breakers_are_part_of_the_cluster_key()
    {
        var plain = Res.Tcp("a", 2222, "up:22");
        var limited = Res.Tcp("b", 2223, "up:22") with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = 1 }) };
        var sameAsPlain = Res.Tcp("c", 2224, "up:22");

        var result = Res.Compile(plain, limited, sameAsPlain);

        Assert.Equal(result.Upstream(plain).ClusterKey, result.Upstream(sameAsPlain).ClusterKey);
        Assert.NotEqual(result.Upstream(plain).ClusterKey, result.Upstream(limited).ClusterKey);
        Assert.Contains("c1/p1024/r1024/t3", result.Upstream(limited).ClusterKey, StringComparison.Ordinal);
    }
}
