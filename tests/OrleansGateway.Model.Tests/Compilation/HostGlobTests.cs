using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>Emissary's <c>test_hostglob_matches.py</c> table (research §8.1), checked in both directions.</summary>
public sealed class HostGlobTests
{
    public static TheoryData<string, string, bool> Table => new()
    {
        { "a.example.com", "a.example.com", true },
        { "a.example.com", "b.example.com", false },
        { "*", "foo.example.com", true },
        { "*.example.com", "a.example.com", true },
        { "*example.com", "b.example.com", true },
        { "*example.com", ".example.com", false },
        { "foo.example*", "foo.example.com.", true },
        { "*example.com", "example.com", false },
        { "*ple.com", "b.example.com", true },
        { "*.example.com", "a.example.org", false },
        { "*example.com", "a.example.org", false },
        { "*ple.com", "a.example.org", false },
        { "a.example.*", "a.example.com", true },
        { "a.example*", "a.example.com", true },
        { "a.exa*", "a.example.com", true },
        { "a.example.*", "a.example.org", true },
        { "a.example.*", "b.example.com", false },
        { "a.example*", "b.example.com", false },
        { "a.exa*", "b.example.com", false },
        { "a.*.com", "a.example.com", false },
        { "*.com", "a.example.com", true },
        { "*.com", "a.example.org", false },
        { "*.example.com", "*.example.com", true },
        { "*example.com", "*.example.com", true },
        { "*.example.com", "a.example.*", true },
        { "*.example.com", "a.b.example.*", true },
        { "*.example.baz.com", "a.b.example.*", true },
        { "*.foo.bar", "baz.zing.*", true },
        { "*.local:8500", "quote.local", false },
        { "*.local:8500", "quote.local:8500", true },
        { "*", "quote.local:8500", true },
        { "quote.*", "quote.local:8500", true },
        { "quote.*", "*.local:8500", true },
        { "quote.com:8500", "quote.com:8500", true },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Matches_both_ways(string a, string b, bool expected)
    {
        Assert.Equal(expected, HostGlob.Matches(a, b));
        Assert.Equal(expected, HostGlob.Matches(b, a));
    }

    /// <summary>The indexed Host lookup must agree with the plain two-sided test for exact mapping hosts.</summary>
    [Fact]
    public void Indexed_lookup_agrees_with_the_glob_test()
    {
        string[] hostnames = ["*", "*.example.com", "*example.com", "*ple.com", "a.example.*", "a.exa*", "a.example.com", "*.com", "b.example.org", "*.local:8500", "*a*"];
        string[] names = ["a.example.com", "b.example.com", "example.com", "a.example.org", "x.com", "b.example.org", "quote.local", "aaa"];
        var entries = hostnames.Select((h, i) => new ResourceEntry(Res.Host("h" + i, h, "cert"))).ToList();
        var secrets = SecretCatalog.Build([new ResourceEntry(Res.TlsSecret("cert"))], false, CompileOptions.DefaultTenant);
        var catalog = HostCatalog.Build(entries, TlsContextCatalog.Build([], secrets), secrets);

        foreach (var name in names)
        {
            var indexed = catalog.Matching(name).Select(h => h.Hostname).Order(StringComparer.Ordinal);
            var scanned = hostnames.Where(h => HostGlob.Matches(h, name)).Order(StringComparer.Ordinal);
            Assert.Equal(scanned, indexed);
        }
    }
}
