using System.Collections.Immutable;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Canary shares as true percentages (docs/tcpmapping-semantics.md, row 4), not Emissary's cumulative
/// thresholds that Envoy reads as relative weights (70/30 became 77/23 there).
/// </summary>
internal static class WeightCalculator
{
    /// <summary>Outcome: the shares (in member order, adding up to exactly 100), or an error for the whole group.</summary>
    internal sealed record Result(ImmutableArray<double> Shares, string? Error, bool Scaled);

    /// <param name="weights">Each member's <c>weight</c> (null: none), in (namespace, name) order.</param>
    public static Result Compute(IReadOnlyList<int?> weights)
    {
        var n = weights.Count;

        // Checked before the group-of-one rule: a weight over 100 is a mistake whatever the group, while Emissary let a
        // lone `weight: 150` through silently (docs/tcpmapping-semantics.md, "Weights (canary groups)").
        if (weights.Any(w => w is < 0 or > 100))
        {
            return new Result([], "a weight must be from 0 to 100", false);
        }

        if (n == 1)
        {
            // A group of one takes everything (as Emissary), even with weight 0: there is nobody to give the rest to.
            return new Result([100.0], null, false);
        }

        var total = weights.Sum(w => w ?? 0);
        if (total > 100)
        {
            return new Result([], "the weights add up to more than 100", false);
        }

        var shares = new double[n];
        var weightless = Enumerable.Range(0, n).Where(i => weights[i] is null).ToList();
        if (weightless.Count > 0)
        {
            for (var i = 0; i < n; i++)
            {
                shares[i] = weights[i] ?? 0;
            }

            // Weightless members split the remainder: rounded equal parts, the last one takes what is left
            // (never below 0, so a run of rounded-up parts cannot overshoot).
            var remainder = 100 - total;
            var part = Math.Round((double)remainder / weightless.Count, MidpointRounding.ToEven);
            var given = 0.0;
            for (var k = 0; k < weightless.Count - 1; k++)
            {
                var share = Math.Min(part, remainder - given);
                shares[weightless[k]] = share;
                given += share;
            }

            shares[weightless[^1]] = remainder - given;
            return new Result([.. shares], null, false);
        }

        if (total == 0)
        {
            return new Result([], "all weights are 0, so no member would ever get a connection", false);
        }

        if (total == 100)
        {
            return new Result([.. weights.Select(w => (double)w!.Value)], null, false);
        }

        // Below 100 with nobody to take the rest: scale, as a relative-weight picker would; the last member
        // with a share absorbs the rounding so the route still adds up to exactly 100.
        var last = -1;
        var sum = 0.0;
        for (var i = 0; i < n; i++)
        {
            shares[i] = weights[i]!.Value * 100.0 / total;
            if (weights[i] > 0)
            {
                last = i;
            }
        }

        for (var i = 0; i < n; i++)
        {
            if (i != last)
            {
                sum += shares[i];
            }
        }

        shares[last] = 100.0 - sum;
        return new Result([.. shares], null, true);
    }
}
