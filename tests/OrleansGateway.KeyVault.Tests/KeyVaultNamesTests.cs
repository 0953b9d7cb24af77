using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>The name rule keeps tenants apart: injective, every name inside its tenant's prefix, vault-legal.</summary>
public sealed class KeyVaultNamesTests
{
    private static SecretRef Ref(string tenant, string ns, string name) => new(ns, name) { Tenant = tenant };

    [Fact]
    public void Names_are_readable_and_vault_legal()
    {
        Assert.Equal("ogw-acme--default--web-dtls", KeyVaultNames.For("ogw", Ref("acme", "default", "web-tls")));
        Assert.Equal("ogw-acme--default--web-ptls", KeyVaultNames.For("ogw", Ref("acme", "default", "web.tls")));
        Assert.Equal("ogw-a-x43me--default--x", KeyVaultNames.For("OGW", Ref("aCme", "default", "x")));
    }

    [Fact]
    public void Two_tenants_with_a_same_named_secret_get_different_names()
    {
        Assert.NotEqual(KeyVaultNames.For("ogw", Ref("tenant-a", "default", "tls")), KeyVaultNames.For("ogw", Ref("tenant-b", "default", "tls")));
    }

    /// <summary>Pairs that a naive join ("-" or "--" between parts, lower-casing) would map to one name.</summary>
    [Theory]
    [InlineData("a", "b-c", "d", "a-b", "c", "d")]
    [InlineData("a", "b--c", "d", "a--b", "c", "d")]
    [InlineData("a", "b", "c.d", "a", "b.c", "d")]
    [InlineData("A", "b", "c", "a", "b", "c")]
    [InlineData("a-", "b", "c", "a", "-b", "c")]
    [InlineData("a", "b", "c-d", "a", "b", "c.d")]
    [InlineData("t", "ns", "x-p", "t", "ns", "x.")]
    public void Adversarial_pairs_map_to_different_names(string t1, string n1, string s1, string t2, string n2, string s2)
    {
        var first = KeyVaultNames.For("ogw", Ref(t1, n1, s1));
        var second = KeyVaultNames.For("ogw", Ref(t2, n2, s2));
        Assert.NotEqual(first, second, StringComparer.OrdinalIgnoreCase);
        if (t1 != t2)
        {
            Assert.False(second.StartsWith(KeyVaultNames.TenantPrefix("ogw", t1), StringComparison.OrdinalIgnoreCase), $"{second} is inside tenant '{t1}''s prefix");
            Assert.False(first.StartsWith(KeyVaultNames.TenantPrefix("ogw", t2), StringComparison.OrdinalIgnoreCase), $"{first} is inside tenant '{t2}''s prefix");
        }
    }

    [Fact]
    public void Random_names_are_injective_and_stay_inside_their_tenant_prefix()
    {
        var random = new Random(6);
        const string alphabet = "ab-.Z0_é";
        string Part() => new([.. Enumerable.Range(0, random.Next(1, 6)).Select(_ => alphabet[random.Next(alphabet.Length)])]);

        var seen = new Dictionary<string, SecretRef>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < 4000; i++)
        {
            var secret = Ref(Part(), Part(), Part());
            var name = KeyVaultNames.For("ogw", secret);

            Assert.Matches("^[0-9a-z-]{1,127}$", name);
            Assert.StartsWith(KeyVaultNames.TenantPrefix("ogw", secret.Tenant), name, StringComparison.Ordinal);
            Assert.True(KeyVaultNames.TryRead("ogw", secret.Tenant, name.ToUpperInvariant(), out var back), name);
            Assert.Equal(secret, back);
            if (seen.TryGetValue(name, out var earlier))
            {
                Assert.Equal(earlier, secret);
            }

            seen[name] = secret;
        }

        // Every name is inside exactly one tenant prefix: its own.
        var tenants = seen.Values.Select(s => s.Tenant).Distinct().ToList();
        foreach (var (name, secret) in seen.Take(500))
        {
            Assert.Equal([secret.Tenant], tenants.Where(t => name.StartsWith(KeyVaultNames.TenantPrefix("ogw", t), StringComparison.OrdinalIgnoreCase)));
        }
    }

    /// <summary>What a tenant's purge reads back from the vault's list: only its own names, and only names the rule writes.</summary>
    [Theory]
    [InlineData("ogw-acme--default--web-dtls", true)]
    [InlineData("ogw-acme-dx--default--web", false)]
    [InlineData("ogw-acme--default", false)]
    [InlineData("ogw-acme--default--web--x", false)]
    [InlineData("ogw-acme--default--web-q", false)]
    [InlineData("ogw-acme--default--web-", false)]
    [InlineData("ogw-acme--default--web-x4", false)]
    [InlineData("ogw-acme--default--w-x2d", false)]
    [InlineData("other-acme--default--web", false)]
    public void Only_a_name_the_rule_writes_for_the_tenant_reads_back(string name, bool read)
    {
        Assert.Equal(read, KeyVaultNames.TryRead("ogw", "acme", name, out var secret));
        if (read)
        {
            Assert.Equal(Ref("acme", "default", "web-tls"), secret);
        }
    }

    [Fact]
    public void A_name_over_127_characters_is_refused_with_the_reason()
    {
        var e = Assert.Throws<ArgumentException>(() => KeyVaultNames.For("ogw", Ref("acme", "default", new string('n', 120))));
        Assert.Contains("127", e.Message, StringComparison.Ordinal);
        Assert.Contains("default/" + new string('n', 120), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("og-w")]
    [InlineData("a_b")]
    public void A_prefix_must_be_letters_or_digits(string prefix)
    {
        Assert.False(KeyVaultNames.IsValidPrefix(prefix));
        Assert.Throws<ArgumentException>(() => KeyVaultNames.For(prefix, Ref("t", "n", "s")));
    }
}
