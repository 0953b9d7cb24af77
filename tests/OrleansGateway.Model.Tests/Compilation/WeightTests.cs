using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "Weights (canary groups)": true percentages (Emissary's cumulative weights gave 70/30
/// as 77/23).
/// </summary>
public sealed class WeightTests
{
    // weights in member order (a, b, c...; -1 = no weight), expected shares, or null when the group is discarded
    public static TheoryData<int[], double[]?, string> Table => new()
    {
        { [70, 30], [70, 30], "" },
        { [10, -1], [10, 90], "" },
        { [-1, -1, -1], [33, 33, 34], "" },
        { [-1, -1], [50, 50], "" },
        { [30, 20], [60, 40], "scaled" },
        { [60, 60], null, "the weights add up to more than 100 (members: TCPMapping 'a' (namespace default) weight 60, TCPMapping 'b' (namespace default) weight 60; total 120)" },
        { [0, -1], [0, 100], "" },
        { [150, -1], null, "a weight must be from 0 to 100 (members: TCPMapping 'a' (namespace default) weight 150, TCPMapping 'b' (namespace default) weight none; total 150)" },
        { [100, -1], [100, 0], "" },
        { [150], null, "a weight must be from 0 to 100 (members: TCPMapping 'a' (namespace default) weight 150; total 150)" },
        { [0], [100], "" },
        { [0, 0], null, "all weights are 0" },
        { [0, 25, 25], [0, 50, 50], "scaled" },
        { [40, -1, -1, -1, -1], [40, 15, 15, 15, 15], "" },
        { [91, -1, -1, -1, -1, -1, -1], [91, 2, 2, 2, 2, 1, 0], "" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Weights_become_shares(int[] weights, double[]? shares, string message)
    {
        var mappings = weights.Select((w, i) => Res.Tcp(((char)('a' + i)).ToString(), 2222, "svc" + i) with { Weight = w < 0 ? null : w }).ToArray();

        var result = Res.Compile(mappings.Reverse().ToArray<Resource>());

        if (shares is null)
        {
            foreach (var m in mappings)
            {
                result.AssertDiscarded(m, message);
            }

            Assert.Empty(result.Plan.Listeners);
            var refused = Assert.Single(result.RefusedGroups);
            Assert.Equal("0.0.0.0:2222, no host", refused.Group);
            Assert.Equal(mappings.Select(m => m.Ref), refused.Members);
            Assert.Contains(message, refused.Reason, StringComparison.Ordinal);
            Assert.All(mappings, m => Assert.Equal($"{m.Ref} discarded: {refused.Reason}", result.Status(m).Messages.Single()));
            return;
        }

        Assert.Empty(result.RefusedGroups);

        var route = result.Listener(2222).CatchAll!;
        Assert.Equal(shares, route.Upstreams.Select(u => u.Share));
        Assert.Equal(100.0, route.Upstreams.Sum(u => u.Share));
        Assert.Equal(message == "scaled", result.Diagnostics.Any(d => d.Code == "group.weights_scaled" && d.Severity == Severity.Info));
    }

    [Fact]
    public void Shares_always_add_up_to_100()
    {
        var random = new Random(1234);
        for (var round = 0; round < 200; round++)
        {
            var count = random.Next(2, 9);
            var weights = Enumerable.Range(0, count).Select(_ => random.Next(3) == 0 ? (int?)null : random.Next(0, 100 / count + 1)).ToList();
            var result = WeightCalculator.Compute(weights);
            if (result.Error is not null)
            {
                Assert.True(weights.All(w => w is 0), string.Join(",", weights));
                continue;
            }

            Assert.Equal(100.0, result.Shares.Sum(), 9);
            Assert.All(result.Shares, s => Assert.InRange(s, 0, 100));
        }
    }
}
