using System.Collections.Concurrent;
using System.Net;
using OrleansGateway.KeyVault.Tests.TestSupport;
using OrleansGateway.Model.Plan;
using static OrleansGateway.KeyVault.Tests.TestSupport.TestYaml;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// The scheduled refresh (docs/key-vault.md, "Rotation"): the real gateway with <c>--certificate-refresh 10s</c> and
/// nothing calling a refresh by hand. A certificate rotated in the vault reaches new handshakes while clients keep
/// handshaking and an established connection keeps relaying; a certificate nobody uses any more (its Host deleted,
/// or its tenant) is no longer read from the vault.
/// </summary>
public sealed class ScheduledRefreshTests(RefreshingVaultGateway fixture) : IClassFixture<RefreshingVaultGateway>
{
    private static readonly TimeSpan Refresh = RefreshingVaultGateway.Refresh;

    private VaultStandIn Vault => fixture.Vault;

    private InProcessGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task A_certificate_rotated_in_the_vault_reaches_new_handshakes_on_schedule_while_connections_keep_flowing()
    {
        const string tenant = "sr-rotate";
        const string host = "rotate.refresh.test";
        using var v1 = Certs.Valid(host);
        using var v2 = Certs.Valid(host);
        using var upstream = new EchoUpstream();
        var port = Ports.Free();
        // Into the vault after the tenant is created: creating a tenant purges what an earlier tenant of the name left there.
        var key = await Gateway.CreateTenantAsync(tenant);
        Vault.PutPfx(VaultName(tenant, "web-tls"), v1);
        var (applied, body) = await Gateway.ApplyAsync(tenant, key, Route("web", host, "web-tls", port, upstream.Port));
        Assert.True(applied == HttpStatusCode.OK, body.ToString());
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v1.Thumbprint, "the first version to be served");

        var (openThumbprint, open) = await Net.ConnectAsync(port, host);
        await using var _ = open;
        await Net.EchoAsync(open, "before");
        using var stopLoad = new CancellationTokenSource();
        var seen = new ConcurrentBag<string>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                seen.Add(await Net.HandshakeAsync(port, host));
            }
        })).ToList();
        await Eventually.Get(() => Task.FromResult(seen.Count), n => n >= 8, "handshakes under load before the rotation");

        Vault.PutPfx(VaultName(tenant, "web-tls"), v2);

        // Only the reminder reads the vault again: within a few intervals, whatever the load on this machine.
        await Eventually.Get(() => Task.FromResult(seen.Count(t => t == v2.Thumbprint)), n => n >= 4,
            "the load to be served the rotated certificate by the scheduled refresh", Refresh * 6);
        var during = seen.Count;
        await Net.EchoAsync(open, "during the load");
        stopLoad.Cancel();
        await Task.WhenAll(load); // a failed handshake or echo under load fails the test here

        Assert.True(during >= 12, $"{during} handshakes under load");
        Assert.Equal(v2.Thumbprint, await Net.HandshakeAsync(port, host));
        Assert.Equal(v1.Thumbprint, openThumbprint);
        await Net.EchoAsync(open, "after the rotation");
        var (_, certificate) = await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/certificates/web-tls", key);
        Assert.Equal("Ready", certificate.GetProperty("state").GetString());
        Assert.Equal(v2.Thumbprint, certificate.GetProperty("thumbprint").GetString());
    }

    [Fact]
    public async Task A_certificate_nobody_uses_any_more_is_no_longer_read_from_the_vault()
    {
        using var upstream = new EchoUpstream();
        var port = Ports.Free();

        // One tenant deletes the Host that used its certificate; another tenant is deleted; a third keeps using its own.
        var tenants = new[] { "sr-unused", "sr-deleted", "sr-kept" };
        var keys = new Dictionary<string, string>();
        foreach (var tenant in tenants)
        {
            var host = $"{tenant}.refresh.test";
            using var certificate = Certs.Valid(host);
            keys[tenant] = await Gateway.CreateTenantAsync(tenant);
            Vault.PutPfx(VaultName(tenant, "web-tls"), certificate);
            var (applied, body) = await Gateway.ApplyAsync(tenant, keys[tenant], Route("web", host, "web-tls", port, upstream.Port));
            Assert.True(applied == HttpStatusCode.OK, body.ToString());
            await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == certificate.Thumbprint, $"{host} to be served");
        }

        // Read on schedule while in use: the silence measured below is then the reminder stopped, not a slow one.
        var reads = tenants.ToDictionary(t => t, t => Reads(t));
        await Eventually.Until(() => tenants.All(t => Reads(t) >= reads[t] + 2), "every certificate to be read twice more on schedule", Refresh * 8);

        var (deleted, deleteBody) = await Gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/sr-unused/resources/delete", keys["sr-unused"],
            InProcessGateway.Json(new { resources = new[] { new { kind = "TCPMapping", @namespace = "default", name = "web" }, new { kind = "Host", @namespace = "default", name = "web" } } }));
        Assert.True(deleted == HttpStatusCode.OK, deleteBody.ToString());
        var (gone, goneBody) = await Gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/sr-deleted", InProcessGateway.AdminKey);
        Assert.True(gone == HttpStatusCode.NoContent, goneBody.ToString());

        // A reminder that still ran would read every interval: three intervals without a read mean it is gone. The
        // deleted tenant's certificate is purged from the vault, so a read of it would be counted too (a 404).
        var last = new Dictionary<string, (int Reads, DateTimeOffset Since)>();
        await Eventually.Until(() =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var tenant in new[] { "sr-unused", "sr-deleted" })
            {
                var count = Reads(tenant);
                if (!last.TryGetValue(tenant, out var seen) || seen.Reads != count)
                {
                    last[tenant] = (count, now);
                }
            }

            return last.Values.All(v => now - v.Since >= Refresh * 3);
        }, "the certificates nobody uses to go unread for three refresh intervals", Refresh * 12);

        // The one still in use is still read on schedule.
        var kept = Reads("sr-kept");
        await Eventually.Until(() => Reads("sr-kept") > kept, "the certificate in use to be read again", Refresh * 4);
    }

    private static string VaultName(string tenant, string secret) => KeyVaultNames.For("ogw", new SecretRef("default", secret) { Tenant = tenant });

    /// <summary>Reads of the tenant's certificate in the vault (its current version, its versions, its secret).</summary>
    private int Reads(string tenant)
    {
        var name = VaultName(tenant, "web-tls");
        return Vault.Requests("GET", "/certificates/" + name) + Vault.Requests("GET", "/secrets/" + name);
    }
}
