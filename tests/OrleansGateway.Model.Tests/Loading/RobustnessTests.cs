using System.Text;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

public class RobustnessTests
{
    private const string Seed = """
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata: {name: a, namespace: n, labels: {x: y}}
        spec:
          port: "2222"
          host: a.example.com
          service: https://up:443
          circuit_breakers: [{priority: high, max_connections: 3}]
          ambassador_id: [default]
        ---
        apiVersion: v1
        kind: List
        items:
        - {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"tls.crt": "QUJD"}}
        - apiVersion: getambassador.io/v2
          kind: Host
          metadata: {name: h}
          spec: {hostname: "*", tls: {alpn_protocols: "h2,http/1.1"}, tlsSecret: {name: s}}
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: Module
        metadata: {name: ambassador}
        spec: {config: {idle_timeout_ms: 5, circuit_breakers: [{max_retries: 1}]}}
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TLSContext
        metadata: {name: c}
        spec: {hosts: [a], secret: s, alpn_protocols: [h2]}
        """;

    private const string Alphabet = "-:{}[],'\"#&*!|>%@` \n\t0123456789abcdefgkmnpstxyz.~\\?=";

    /// <summary>Mutations of a realistic file and plain random text: the loader must report, never throw.</summary>
    [Fact]
    public void Parse_never_throws_on_mutated_or_random_input()
    {
        var random = new Random(20261126);
        var resourcesSeen = 0;
        for (var i = 0; i < 400; i++)
        {
            var text = i % 4 == 3 ? RandomText(random) : Mutate(Seed, random);

            var result = ResourceLoader.Parse(text, "fuzz.yaml");

            resourcesSeen += result.Resources.Length;
            Assert.All(result.Diagnostics, d => Assert.False(string.IsNullOrWhiteSpace(d.Message)));
            Assert.All(result.Resources.OfType<InvalidResource>(), r => Assert.NotEmpty(r.Errors));
        }

        // The mutations are small, so most runs still find resources: the loop really exercised the readers.
        Assert.True(resourcesSeen > 400, $"only {resourcesSeen} resources over 400 inputs");
    }

    private static string Mutate(string text, Random random)
    {
        var builder = new StringBuilder(text);
        var edits = random.Next(1, 6);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(builder.Length);
            switch (random.Next(4))
            {
                case 0:
                    builder.Remove(at, Math.Min(random.Next(1, 8), builder.Length - at));
                    break;
                case 1:
                    builder.Insert(at, Alphabet[random.Next(Alphabet.Length)]);
                    break;
                case 2:
                    builder[at] = Alphabet[random.Next(Alphabet.Length)];
                    break;
                default:
                    // Duplicate a slice: repeats keys, nests structures, moves document markers.
                    var length = Math.Min(random.Next(1, 40), builder.Length - at);
                    builder.Insert(random.Next(builder.Length), builder.ToString(at, length));
                    break;
            }
        }

        return builder.ToString();
    }

    private static string RandomText(Random random)
    {
        var chars = new char[random.Next(0, 300)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return new string(chars);
    }

    [Theory]
    [InlineData("[", "]")]
    [InlineData("{a: ", "}")]
    [InlineData("- ", "")]
    public void Hostile_nesting_is_refused_before_it_can_overflow_the_stack(string open, string close)
    {
        const int depth = 200_000;
        var hostile = string.Concat(Enumerable.Repeat(open, depth)) + "x" + string.Concat(Enumerable.Repeat(close, depth));
        var text = LoaderAssert.TcpMapping("port: 1\nservice: a", "before") + "\n---\n" + hostile + "\n---\n" + LoaderAssert.TcpMapping("port: 1\nservice: a", "after");

        var result = ResourceLoader.Parse(text, "hostile.yaml");

        Assert.Equal(["before", "after"], result.Resources.Select(r => r.Name).ToArray());
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((DiagnosticCodes.YamlSyntax, 1, 9), (error.Code, error.Source!.DocumentIndex, error.Source.Line));
        Assert.Contains("nested more than 512 levels deep", error.Message);
    }

    [Fact]
    public void An_alias_bomb_used_as_a_key_is_refused_instead_of_hashed_for_ever()
    {
        var bomb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i <= 3; i++)
        {
            bomb.Append($"a{i}: &a{i} [").Append(string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))).Append("]\n");
        }

        // Within the node limit (a deeper bomb is stopped by it first): the key rule itself refuses the document.
        bomb.Append("? *a3\n: 1\n");

        var result = ResourceLoader.Parse(bomb + "---\n" + LoaderAssert.TcpMapping("port: 1\nservice: a"), "bomb.yaml");

        Assert.IsType<TcpMapping>(Assert.Single(result.Resources));
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((DiagnosticCodes.YamlSyntax, 0, 5), (error.Code, error.Source!.DocumentIndex, error.Source.Line));
        Assert.Contains("mapping key is a list, mapping or alias", error.Message);
    }

    [Fact]
    public void A_four_MiB_list_of_aliases_is_refused_at_the_node_limit_and_the_other_documents_still_load()
    {
        // The attack of docs/resource-model.md "Limits": one resource, then a `kind: List` of a million aliases to it.
        var text = new StringBuilder("apiVersion: v1\nkind: List\nitems:\n- &m {apiVersion: getambassador.io/v3alpha1, kind: TCPMapping, " +
            "metadata: {name: m}, spec: {port: 1, service: a, circuit_breakers: [{max_connections: 3}]}}\n");
        while (text.Length < 4 * 1024 * 1024)
        {
            text.Append("- *m\n");
        }

        var result = ResourceLoader.Parse(text + "---\n" + LoaderAssert.TcpMapping("port: 1\nservice: a", "after"), "aliases.yaml");

        Assert.Equal(["after"], result.Resources.Select(r => r.Name).ToArray());
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((DiagnosticCodes.YamlSyntax, 0), (error.Code, error.Source!.DocumentIndex));
        Assert.Contains("more than 100000 nodes once its aliases (*name) are expanded", error.Message);

        // The limit is hit where the expansion crosses it, long before the end of the 4 MiB document: the header and the
        // item take 27 nodes (line 4), each alias 20 more, so alias number 4,999 (line 5,003) crosses 100,000.
        Assert.Equal(5_003, error.Source.Line);
    }

    [Fact]
    public void A_file_of_endless_broken_documents_stops_at_the_findings_limit()
    {
        var text = LoaderAssert.TcpMapping("port: 1\nservice: a", "first") + "\n" + string.Concat(Enumerable.Repeat("--- {}\n", 600_000));

        var result = ResourceLoader.Parse(text, "endless.yaml");

        Assert.Equal(["first"], result.Resources.Select(r => r.Name).ToArray());
        Assert.InRange(result.Diagnostics.Length, ResourceLoader.MaxFileDiagnostics, ResourceLoader.MaxFileDiagnostics + 10);
        var last = result.Diagnostics[^1];
        Assert.Equal(DiagnosticCodes.FileLimit, last.Code);
        Assert.Contains("more than 1000 findings in 'endless.yaml'", last.Message);
    }

    [Fact]
    public void A_file_over_the_node_limit_is_not_read_past_it()
    {
        // Each document is within its own limit; together they cross the file's.
        var document = "items: [" + string.Join(", ", Enumerable.Repeat("x", 60_000)) + "]\n";
        var result = ResourceLoader.Parse(string.Concat(Enumerable.Repeat("---\n" + document, 20)), "wide.yaml");

        var limit = Assert.Single(result.Diagnostics, d => d.Code == DiagnosticCodes.FileLimit);
        Assert.Equal(16, limit.Source!.DocumentIndex);
        Assert.Contains("more than 1000000 nodes", limit.Message);
        Assert.Contains("the rest of the file is not read", limit.Message);
        Assert.Equal(limit, result.Diagnostics[^1]);
    }

    [Fact]
    public void Nested_aliases_count_as_their_whole_expansion()
    {
        var bomb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i <= 5; i++)
        {
            bomb.Append($"a{i}: &a{i} [").Append(string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))).Append("]\n");
        }

        var error = Assert.Single(ResourceLoader.Parse(bomb.ToString(), "laughs.yaml").Diagnostics);

        // a3 expands to 11,111 nodes, so a4 (ten aliases of it) crosses 100,000 on line 5; a5 is never reached.
        Assert.Equal((DiagnosticCodes.YamlSyntax, 5), (error.Code, error.Source!.Line));
        Assert.Contains("more than 100000 nodes", error.Message);
    }

    [Fact]
    public void Anchors_and_aliases_as_values_still_work()
    {
        var result = ResourceLoader.Parse("""
            apiVersion: getambassador.io/v3alpha1
            kind: TLSContext
            metadata: {name: c, labels: &l {team: a}}
            spec:
              hosts: &h [a.example.com]
              cipher_suites: *h
            """, "anchors.yaml");

        var context = Assert.IsType<TlsContextResource>(Assert.Single(result.Resources));
        Assert.Equal(["a.example.com"], context.Tls.CipherSuites.ToArray());
        Assert.Equal("a", context.Labels["team"]);
    }

    [Fact]
    public void Ten_thousand_mappings_in_one_file_all_load()
    {
        var builder = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            builder.Append("---\napiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata:\n  name: m")
                .Append(i).Append("\n  namespace: tenant-").Append(i % 50).Append("\nspec:\n  port: ").Append(10_000 + i)
                .Append("\n  host: h").Append(i).Append(".example.com\n  service: upstream-").Append(i)
                .Append(":8080\n  idle_timeout_ms: 60000\n  circuit_breakers:\n  - max_connections: 100\n");
        }

        var result = ResourceLoader.Parse(builder.ToString(), "big.yaml");

        Assert.Empty(result.Diagnostics);
        Assert.Equal(10_000, result.Resources.OfType<TcpMapping>().Count());
        var last = (TcpMapping)result.Resources[^1];
        Assert.Equal((19_999, 9_999), (last.Port, last.Source!.DocumentIndex));
    }
}
