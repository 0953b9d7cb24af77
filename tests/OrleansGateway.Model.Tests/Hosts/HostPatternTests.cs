using System.Text.Json;
using OrleansGateway.Model.Hosts;

namespace OrleansGateway.Model.Tests.Hosts;

/// <summary>The host-pattern type as tables: canonical form, refusals, matching, covering, overlap and SNI order.</summary>
public sealed class HostPatternTests
{
    /// <summary>253 characters, the most a DNS name has.</summary>
    private static readonly string LongestName = $"{new string('b', 63)}.{new string('c', 63)}.{new string('d', 63)}.{new string('e', 61)}";

    // written, canonical text, kind
    public static TheoryData<string, string, HostPatternKind> Canonical => new()
    {
        { "a.example.com", "a.example.com", HostPatternKind.Exact },
        { "A.Example.COM", "a.example.com", HostPatternKind.Exact },
        { "a.example.com.", "a.example.com", HostPatternKind.Exact },
        { "SHOP.A.TEST.", "shop.a.test", HostPatternKind.Exact },
        { "localhost", "localhost", HostPatternKind.Exact },
        { "my-host-1", "my-host-1", HostPatternKind.Exact },
        { "10.0.0.1", "10.0.0.1", HostPatternKind.Exact },
        { "*.a.test", "*.a.test", HostPatternKind.Wildcard },
        { "*.a.test.", "*.a.test", HostPatternKind.Wildcard },
        { "*.A.TEST", "*.a.test", HostPatternKind.Wildcard },
        { "*", "*", HostPatternKind.Any },
        { "*.", "*", HostPatternKind.Any },
        { "bücher.test", "xn--bcher-kva.test", HostPatternKind.Exact },
        { "BÜCHER.test", "xn--bcher-kva.test", HostPatternKind.Exact },
        { "XN--BCHER-KVA.TEST", "xn--bcher-kva.test", HostPatternKind.Exact },
        { "*.bücher.test", "*.xn--bcher-kva.test", HostPatternKind.Wildcard },
        { "*.xn--bcher-kva.test.", "*.xn--bcher-kva.test", HostPatternKind.Wildcard },
        { "shop.münchen.de", "shop.xn--mnchen-3ya.de", HostPatternKind.Exact },
        { "例え.テスト", "xn--r8jz45g.xn--zckzah", HostPatternKind.Exact },
        { new string('a', 63) + ".test", new string('a', 63) + ".test", HostPatternKind.Exact },
        { LongestName.ToUpperInvariant() + ".", LongestName, HostPatternKind.Exact },
    };

    [Theory]
    [MemberData(nameof(Canonical))]
    public void Parses_to_one_canonical_form(string written, string canonical, HostPatternKind kind)
    {
        Assert.True(HostPattern.TryParse(written, out var pattern, out var error), error);
        Assert.Equal((canonical, kind), (pattern.Text, pattern.Kind));
        Assert.Equal(canonical, pattern.ToString());
        Assert.Equal(pattern, HostPattern.Parse(canonical));
        Assert.Equal(pattern.GetHashCode(), HostPattern.Parse(canonical).GetHashCode());
    }

    // written, a fragment of the error
    public static TheoryData<string, string> Refused => new()
    {
        { "", "is empty" },
        { "a.*.b", "'*' somewhere other than as the whole leftmost label" },
        { "*foo.b", "'*' somewhere other than as the whole leftmost label" },
        { "foo*", "'*' somewhere other than as the whole leftmost label" },
        { "foo.*", "'*' somewhere other than as the whole leftmost label" },
        { "*.*.a", "'*' somewhere other than as the whole leftmost label" },
        { "**", "'*' somewhere other than as the whole leftmost label" },
        { "*a.example.com", "'*' somewhere other than as the whole leftmost label" },
        { "a..b", "has an empty label" },
        { ".a.test", "has an empty label" },
        { ".", "has an empty label" },
        { "a.test..", "has an empty label" },
        { "*..", "has an empty label" },
        { "a b.test", "contains whitespace or a control character" },
        { " a.test", "contains whitespace or a control character" },
        { "a.test\n", "contains whitespace or a control character" },
        { "a\tb", "contains whitespace or a control character" },
        { "a.example.com:3002", "contains ':' (a port?)" },
        { "[::1]", "contains ':' (a port?)" },
        { "a_b.test", "has '_' in the label 'a_b'" },
        { "_acme.example.com", "has '_' in the label '_acme'" },
        { "a/b.test", "has '/' in the label 'a/b'" },
        { "-a.test", "starts or ends with '-'" },
        { "a-.test", "starts or ends with '-'" },
        { new string('a', 64) + ".test", "has a label of 64 characters" },
        { string.Join('.', Enumerable.Repeat(new string('b', 50), 5)) + ".test", "is 259 characters long" },
        { "*." + LongestName, "is too long" },
        { "xn--zz.test", "is not a valid A-label" },
        { "xn--bcher-2pa.test", "is not a valid A-label" },
        { "xn--abc.test", "is not a valid A-label" },
        { "☃.net", "U+2603" },
        { "a\u200Db.test", "U+200D" },
        { "ｅｘａｍｐｌｅ.com", "U+FF45" },
        { "a\u3002b.test", "U+3002" },
        { "-ü.test", "cannot be converted to an A-label" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refuses_what_is_no_host_pattern_with_a_message(string written, string fragment)
    {
        Assert.False(HostPattern.TryParse(written, out var pattern, out var error));
        Assert.Null(pattern);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
        Assert.StartsWith("'", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain('\t', error);
        Assert.Equal(error, Assert.Throws<FormatException>(() => HostPattern.Parse(written)).Message);
    }

    [Fact]
    public void A_quoted_name_escapes_control_characters_and_is_bounded()
    {
        Assert.Equal("'a\\u000ab'", HostName.Quote("a\nb"));
        Assert.Equal("'" + new string('x', 80) + "…'", HostName.Quote(new string('x', 500)));
    }

    // pattern, client name as sent, matches
    public static TheoryData<string, string?, bool> Matching => new()
    {
        { "shop.a.test", "shop.a.test", true },
        { "shop.a.test", "SHOP.A.TEST.", true },
        { "shop.a.test", "x.shop.a.test", false },
        { "*.a.test", "shop.a.test", true },
        { "*.a.test", "Shop.A.Test.", true },
        { "*.a.test", "x.y.a.test", true },
        { "*.a.test", "a.test", false },
        { "*.a.test", "xa.test", false },
        { "*.a.test", "", false },
        { "*", "anything.example", true },
        { "*", "", true },
        { "*.bücher.test", "shop.xn--bcher-kva.test", true },
    };

    [Theory]
    [MemberData(nameof(Matching))]
    public void Matches_a_client_name_after_the_same_canonicalization(string pattern, string? name, bool matches)
    {
        Span<char> buffer = stackalloc char[HostName.MaxLength];
        Assert.True(HostName.TryCanonicalize(name, buffer, out var length));
        Assert.Equal(matches, HostPattern.Parse(pattern).Matches(buffer[..length]));
    }

    [Theory]
    [InlineData("Shop.A.Test.", "shop.a.test")]
    [InlineData("shop.a.test", "shop.a.test")]
    [InlineData("", "")]
    [InlineData(".", "")]
    public void Canonicalizes_a_client_name_without_allocating(string name, string expected)
    {
        Span<char> buffer = stackalloc char[HostName.MaxLength];
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ok = HostName.TryCanonicalize(name, buffer, out var length);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(ok);
        Assert.Equal(expected, buffer[..length].ToString());
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("bücher.test")]
    [InlineData("ſhop.a.test")]
    public void A_client_name_that_is_not_ascii_or_too_long_has_no_canonical_form(string name)
    {
        Span<char> buffer = stackalloc char[HostName.MaxLength];
        Assert.False(HostName.TryCanonicalize(name, buffer, out _));
        Assert.False(HostName.TryCanonicalize(new string('a', 254), buffer, out _));
        Assert.True(HostName.TryCanonicalize(new string('a', 253) + ".", buffer, out var length));
        Assert.Equal(253, length);
    }

    // a, b, a covers b, b covers a
    public static TheoryData<string, string, bool, bool> Covering => new()
    {
        { "a.example.com", "a.example.com", true, true },
        { "a.example.com", "A.Example.com.", true, true },
        { "*.a.test", "*.a.test.", true, true },
        { "*.a.test", "*.A.TEST", true, true },
        { "*.xn--bcher-kva.test", "*.bücher.test", true, true },
        { "*.a.test", "shop.a.test.", true, false },
        { "*.example.com", "a.example.com", true, false },
        { "*.example.com", "x.y.example.com", true, false },
        { "*.example.com", "*.a.example.com", true, false },
        { "*", "a.example.com", true, false },
        { "*", "*.example.com", true, false },
        { "*", "*", true, true },
        { "*.example.com", "example.com", false, false },
        { "*.example.com", "a.example.org", false, false },
        { "*.example.com", "*.example.org", false, false },
        { "*.example.com", "aexample.com", false, false },
        { "*.example.com", "*.aexample.com", false, false },
        { "a.example.com", "b.example.com", false, false },
        { "a.example.com", "*.a.example.com", false, false },
    };

    [Theory]
    [MemberData(nameof(Covering))]
    public void Covers_and_overlaps(string a, string b, bool aCoversB, bool bCoversA)
    {
        var (pa, pb) = (HostPattern.Parse(a), HostPattern.Parse(b));
        Assert.Equal(aCoversB, pa.Covers(pb));
        Assert.Equal(bCoversA, pb.Covers(pa));
        Assert.Equal(aCoversB || bCoversA, pa.Overlaps(pb));
        Assert.Equal(aCoversB || bCoversA, pb.Overlaps(pa));
    }

    [Fact]
    public void Sni_order_is_exact_then_longest_glob_then_any()
    {
        string[] written = ["*", "*.example.com", "b.example.com", "*.a.example.com", "a.example.com", "ab.example.com", "*.b.example.com"];
        var sorted = written.Select(HostPattern.Parse).Order(HostPattern.SniOrder).Select(p => p.Text);
        Assert.Equal(["a.example.com", "ab.example.com", "b.example.com", "*.a.example.com", "*.b.example.com", "*.example.com", "*"], sorted);
        Assert.True(HostPattern.Parse("a.test").CompareTo(HostPattern.Any) < 0);
    }

    /// <summary>The first pattern in SNI order that matches a name is the most specific one that covers it.</summary>
    [Fact]
    public void The_first_match_in_sni_order_is_covered_by_every_other_match()
    {
        var patterns = new[] { "*", "*.example.com", "*.a.example.com", "x.a.example.com", "*.b.a.example.com" }.Select(HostPattern.Parse)
            .Order(HostPattern.SniOrder).ToList();
        foreach (var name in new[] { "x.a.example.com", "y.a.example.com", "z.b.a.example.com", "q.example.com", "other.org" })
        {
            var matches = patterns.Where(p => p.Matches(name)).ToList();
            Assert.All(matches, m => Assert.True(m.Covers(HostPattern.Parse(name))));
            Assert.All(matches.Skip(1), m => Assert.True(m.Covers(matches[0])));
        }
    }

    [Fact]
    public void Json_form_is_the_canonical_text_and_stored_text_of_older_rules_still_reads()
    {
        Assert.Equal("\"*.xn--bcher-kva.test\"", JsonSerializer.Serialize(HostPattern.Parse("*.Bücher.TEST.")));
        Assert.Equal(HostPattern.Parse("*.a.test"), JsonSerializer.Deserialize<HostPattern>("\"*.a.test\""));

        // Stored before names were canonical: a trailing dot is removed; what today's rules refuse still reads.
        Assert.Equal(HostPattern.Parse("shop.a.test"), JsonSerializer.Deserialize<HostPattern>("\"shop.a.test.\""));
        var legacy = JsonSerializer.Deserialize<HostPattern>("\"_acme.example.com\"")!;
        Assert.Equal(("_acme.example.com", HostPatternKind.Exact), (legacy.Text, legacy.Kind));
        Assert.True(HostPattern.Parse("*.example.com").Covers(legacy));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<HostPattern>("42"));
    }

    /// <summary>The indexed set answers as the pairwise test would, for seeded random patterns and questions.</summary>
    [Fact]
    public void Pattern_set_agrees_with_the_pairwise_overlap()
    {
        var random = new Random(20261127);
        string[] labels = ["a", "b", "c", "example", "com"];
        HostPattern Next()
        {
            var name = string.Join('.', Enumerable.Range(0, random.Next(1, 5)).Select(_ => labels[random.Next(labels.Length)]));
            return random.Next(20) == 0 ? HostPattern.Any : HostPattern.Parse(random.Next(2) == 0 ? name : "*." + name);
        }

        for (var round = 0; round < 200; round++)
        {
            var held = Enumerable.Range(0, random.Next(0, 6)).Select(_ => Next()).ToList();
            var set = new HostPatternSet();
            held.ForEach(set.Add);
            for (var q = 0; q < 20; q++)
            {
                var asked = Next();
                Assert.True(held.Any(h => h.Overlaps(asked)) == set.Overlaps(asked), $"{asked} against [{string.Join(", ", held)}]");
            }

            // A listener swaps a tenant's patterns out and in: what is left answers as if only it had been added
            // (patterns are counted: one held twice stays after one removal; removing one never added changes nothing).
            var removed = held.Where(_ => random.Next(2) == 0).Append(Next()).ToList();
            foreach (var pattern in removed)
            {
                set.Remove(pattern);
                held.Remove(pattern);
            }

            for (var q = 0; q < 20; q++)
            {
                var asked = Next();
                Assert.True(held.Any(h => h.Overlaps(asked)) == set.Overlaps(asked), $"{asked} against [{string.Join(", ", held)}] after removals");
            }
        }
    }
}
