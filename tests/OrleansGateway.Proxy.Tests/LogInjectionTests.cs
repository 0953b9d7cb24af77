using System.Net.Sockets;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Proxy.Tests.Infrastructure;
using OrleansGateway.Proxy.Tests.Tls;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// What tenants name and clients send reaches the access log and the metrics as one bounded value each
/// (docs/data-plane.md, "What tenants and clients put in logs"): no value ends the line or adds a field.
/// </summary>
public sealed class LogInjectionTests
{
    private const string Forgery = "\nlistener=forged tenant=victim reason=ClientClosed";

    [Fact]
    public async Task Names_with_newlines_spaces_and_megabytes_stay_one_field_of_one_line_and_one_bounded_tag()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var longStatsName = new string('s', 10_000) + "\nmapping=forged";
        var upstream = Upstream(up.EndPoint, "db" + Forgery) with { Tenant = "a tenant" + Forgery, StatsName = longStatsName };
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(upstream), statsPrefix: "port" + Forgery)));

        using (var client = await proxy.ConnectAsync(listener))
        {
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal("up\n", System.Text.Encoding.ASCII.GetString(await Net.ReadToEndAsync(client)));
        }

        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        var line = Assert.Single(proxy.Logs.Category("OrleansGateway.AccessLog"));
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("\nlistener=forged", line, StringComparison.Ordinal);
        Assert.Contains($"mapping=\"default/db\\nlistener=forged tenant=victim reason=ClientClosed\"", line, StringComparison.Ordinal);
        Assert.Contains("tenant=\"a tenant\\nlistener=forged", line, StringComparison.Ordinal);

        // Each field once: the forged ones are inside quoted values, never fields of their own.
        foreach (var field in new[] { "listener=", "mapping=", "tenant=", "sni=", "reason=" })
        {
            Assert.Equal(1, Fields(line).Count(f => f.StartsWith(field, StringComparison.Ordinal)));
        }

        // The metric tags: escaped, and the stats name cut to 128 characters.
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.connections", $"listener={LogText.Tag("port" + Forgery)}"));
        var mappingTag = LogText.Tag(longStatsName);
        Assert.True(mappingTag.Length <= LogText.MaxTagLength);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.connections.closed", $"mapping={mappingTag}"));
    }

    [Theory]
    [InlineData("evil.test\nlistener=forged")]
    [InlineData("evil.test listener=forged")]
    [InlineData("evil.test\u001b[2J")]
    public async Task An_SNI_that_is_no_host_name_is_refused_and_logged_without_it(string sni)
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("good.test", "good", Route(Upstream(up.EndPoint)))])), Provider(("good", Server("good.test"))));

        using (var client = await proxy.ConnectAsync(listener))
        {
            await client.SendAsync(ClientHelloSamples.Build(ClientHelloSamples.Sni(sni)));
            Assert.Contains(await Net.ObserveEndAsync(client), new[] { "eof", "reset" });
        }

        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        var line = Assert.Single(proxy.Logs.Category("OrleansGateway.AccessLog"));
        Assert.Contains(" sni=- ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("forged", line, StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.Logs.Lines, l => l.Message.Contains("forged", StringComparison.Ordinal) || l.Message.Contains('\u001b'));
        Assert.Equal(0, up.Count);
    }

    /// <summary>The space-separated fields of an access-log line, a double-quoted value (with \" and \\ escapes) being one.</summary>
    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted && c == '\\' && i + 1 < line.Length)
            {
                current.Append(c).Append(line[++i]);
            }
            else if (c == '"')
            {
                quoted = !quoted;
                current.Append(c);
            }
            else if (c == ' ' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }
}
