using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using OrleansGateway.Certificates;
using OrleansGateway.Edge;
using OrleansGateway.Grains;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.KeyVault.Tests.TestSupport;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;
using OrleansGateway.Proxy;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// Tenant apply → certificate grain → real Key Vault SDK → stand-in, then edge route cache → real ProxyServer →
/// real TLS handshakes on loopback. Refreshes are driven on demand (RefreshAsync), never by waiting for the schedule.
/// </summary>
[Collection(VaultCollection.Name)]
public sealed class VaultTlsTests(VaultCluster fixture)
{
    [Fact]
    public async Task A_vault_certificate_is_served_and_its_rotation_reaches_new_handshakes_without_dropping_open_connections()
    {
        const string tenant = "t-rotate";
        const string host = "rotate.vault.test";
        using var v1 = Certs.Valid(host);
        using var v2 = Certs.Valid(host);
        await using var gateway = await ServeFromVaultAsync(tenant, host, v1);
        var port = gateway.Port;

        // An established connection, and clients handshaking in a loop across the rotation.
        var (openThumbprint, open) = await Net.ConnectAsync(port, host);
        await using var _ = open;
        await Net.EchoAsync(open, "before");
        using var stopLoad = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                seen.Add(await Net.HandshakeAsync(port, host));
            }
        })).ToList();
        await Eventually.Get(() => Task.FromResult(seen.Count), n => n >= 8, "handshakes under load before the rotation");

        var rotated = fixture.Vault.PutPfx(VaultName(tenant, "web-tls"), v2);
        var status = await Certificate(tenant, "web-tls").RefreshAsync();

        Assert.Equal(CertificateHealth.Ready, status.State);
        Assert.Equal(rotated, status.SourceVersion);
        Assert.Equal(v2.Thumbprint, status.Serving!.Thumbprint);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v2.Thumbprint, "the rotated certificate for new handshakes");
        await Eventually.Get(() => Task.FromResult(seen.Count(t => t == v2.Thumbprint)), n => n >= 4, "the load to see the rotated certificate");
        stopLoad.Cancel();
        await Task.WhenAll(load); // a failed handshake or echo under load fails the test here

        Assert.Equal(v1.Thumbprint, openThumbprint);
        await Net.EchoAsync(open, "after the rotation");
        Assert.Equal(v1.Thumbprint, new X509Certificate2(open.RemoteCertificate!).Thumbprint);
        Assert.Empty(gateway.Proxy.LastApply!.Failed);
    }

    [Fact]
    public async Task During_an_outage_the_last_good_certificate_stays_in_service_with_an_Unavailable_status()
    {
        const string tenant = "t-outage";
        const string host = "outage.vault.test";
        using var v1 = Certs.Valid(host);
        using var v2 = Certs.Valid(host);
        await using var gateway = await ServeFromVaultAsync(tenant, host, v1);
        var port = gateway.Port;

        fixture.Vault.PutPfx(VaultName(tenant, "web-tls"), v2);
        long unavailable = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CertificateMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Contains(new KeyValuePair<string, object?>("state", "Unavailable")))
            {
                Interlocked.Add(ref unavailable, value);
            }
        });
        listener.Start();
        fixture.Vault.Outage = true;
        try
        {
            var status = await Certificate(tenant, "web-tls").RefreshAsync();
            Assert.True(Interlocked.Read(ref unavailable) >= 1, "the outage is counted in ogw.certificate.source.problems");

            Assert.Equal(CertificateHealth.Unavailable, status.State);
            Assert.Contains("503", status.Message, StringComparison.Ordinal);
            Assert.Contains("still serving the last good version", status.Message, StringComparison.Ordinal);
            Assert.Equal(v1.Thumbprint, status.Serving!.Thumbprint);
            Assert.Equal(v1.Thumbprint, await Net.HandshakeAsync(port, host));
            Assert.Contains(fixture.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Unavailable", StringComparison.Ordinal) && l.Contains("default/web-tls", StringComparison.Ordinal));
        }
        finally
        {
            fixture.Vault.Outage = false;
        }

        var recovered = await Certificate(tenant, "web-tls").RefreshAsync();
        Assert.Equal(CertificateHealth.Ready, recovered.State);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v2.Thumbprint, "the new certificate after the outage");
    }

    public static TheoryData<string, string> BadCertificates => new()
    {
        { "expired", "expired" },
        { "not-yet-valid", "not valid yet" },
        { "key-mismatch", "does not match" },
    };

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public async Task A_bad_new_version_is_refused_with_a_clear_status_and_the_good_one_stays(string kind, string expected)
    {
        var tenant = "t-bad-" + kind;
        const string host = "bad.vault.test";
        using var good = Certs.Valid(host);
        fixture.Vault.PutPfx(VaultName(tenant, "web-tls"), good);
        await ApplyAsync(tenant, host, "web-tls", Ports.Free(), 9);
        var grain = Certificate(tenant, "web-tls");
        Assert.Equal(CertificateHealth.Ready, (await grain.GetStatusAsync()).State);

        PutBad(VaultName(tenant, "web-tls"), kind, host);
        var status = await grain.RefreshAsync();

        Assert.Equal(CertificateHealth.Refused, status.State);
        Assert.Contains(expected, status.Message, StringComparison.Ordinal);
        Assert.Contains(VaultName(tenant, "web-tls"), status.Message, StringComparison.Ordinal);
        Assert.Equal(good.Thumbprint, status.Serving!.Thumbprint);
        var view = await grain.GetAsync();
        Assert.Equal(good.Thumbprint, CertificateFiles.Describe(view.Material!.TlsCrt!)!.Thumbprint);
    }

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public async Task A_bad_first_version_is_refused_and_nothing_is_served(string kind, string expected)
    {
        var tenant = "t-bad-first-" + kind;
        PutBad(VaultName(tenant, "web-tls"), kind, "bad.vault.test");

        var outcome = await ApplyAsync(tenant, "bad.vault.test", "web-tls", Ports.Free(), 9);
        var status = await Certificate(tenant, "web-tls").GetStatusAsync();

        Assert.True(outcome.Accepted);
        Assert.Equal(CertificateHealth.Refused, status.State);
        Assert.Contains(expected, status.Message, StringComparison.Ordinal);
        Assert.Contains("nothing is served", status.Message, StringComparison.Ordinal);
        Assert.Null((await Certificate(tenant, "web-tls").GetAsync()).Material);
    }

    [Fact]
    public async Task A_tenant_never_gets_another_tenants_vault_certificate()
    {
        using var ownedByA = Certs.Valid("a.vault.test");
        fixture.Vault.PutPfx(VaultName("t-sep-a", "shared-tls"), ownedByA);

        await ApplyAsync("t-sep-a", "a.vault.test", "shared-tls", Ports.Free(), 9);
        await ApplyAsync("t-sep-b", "b.vault.test", "shared-tls", Ports.Free(), 9);
        var a = await Certificate("t-sep-a", "shared-tls").GetStatusAsync();
        var b = await Certificate("t-sep-b", "shared-tls").GetStatusAsync();

        Assert.Equal(CertificateHealth.Ready, a.State);
        Assert.Equal(ownedByA.Thumbprint, a.Serving!.Thumbprint);
        Assert.Equal(CertificateHealth.NotFound, b.State);
        Assert.NotEqual(a.Location, b.Location);
        Assert.Null(b.Serving);
        Assert.Null((await Certificate("t-sep-b", "shared-tls").GetAsync()).Material);
    }

    [Fact]
    public async Task A_tenant_Secret_resource_comes_before_the_vault()
    {
        const string tenant = "t-chain";
        using var inVault = Certs.Valid("chain.vault.test");
        using var inSecret = Certs.Valid("chain.vault.test");
        fixture.Vault.PutPfx(VaultName(tenant, "web-tls"), inVault);
        var secret = new SecretResource
        {
            Name = "web-tls", ApiVersion = "v1", Type = "kubernetes.io/tls",
            TlsCrt = inSecret.ExportCertificatePem(), TlsKey = Certs.KeyPem(inSecret),
        };

        await ApplyAsync(tenant, "chain.vault.test", "web-tls", Ports.Free(), 9, secret);
        var status = await Certificate(tenant, "web-tls").GetStatusAsync();

        // The Secret's key is kept in the vault as a version of the same name, and exactly that version is served.
        Assert.Equal(CertificateSources.Secret, status.Source);
        Assert.Equal(inSecret.Thumbprint, status.Serving!.Thumbprint);
        Assert.Equal(VaultName(tenant, "web-tls"), status.Location);
        var versions = fixture.Vault.Versions(VaultName(tenant, "web-tls"));
        Assert.Equal(2, versions.Count);
        Assert.Equal(versions[1].Id, status.SourceVersion);
        Assert.True(versions[1].Tags.ContainsKey(KeyVaultCertificateSource.SecretTag));
    }

    [Fact]
    public async Task A_version_stored_from_a_Secret_is_served_only_while_that_Secret_names_it()
    {
        const string tenant = "t-owned";
        const string host = "owned.vault.test";
        using var uploaded = Certs.Valid(host);
        using var fromSecret = Certs.Valid(host);
        using var orphan = Certs.Valid(host);
        var name = VaultName(tenant, "web-tls");
        var uploadedVersion = fixture.Vault.PutPfx(name, uploaded);
        var secret = new SecretResource
        {
            Name = "web-tls", ApiVersion = "v1", Type = "kubernetes.io/tls",
            TlsCrt = fromSecret.ExportCertificatePem(), TlsKey = Certs.KeyPem(fromSecret),
        };
        await ApplyAsync(tenant, host, "web-tls", Ports.Free(), 9, secret);
        var grain = Certificate(tenant, "web-tls");
        Assert.Equal(fromSecret.Thumbprint, (await grain.GetStatusAsync()).Serving!.Thumbprint);

        // The Secret is deleted while its Host still names it: the vault's own version is served, not the Secret's key.
        var deleted = await fixture.Grains.GetTenantGrain(tenant).DeleteAsync(new DeleteRequest([new ResourceRef("Secret", "default", "web-tls")], ApplyMode.Strict));
        Assert.True(deleted.Accepted, string.Join("\n", deleted.Diagnostics));
        var status = await grain.GetStatusAsync();
        Assert.Equal(CertificateSources.KeyVault, status.Source);
        Assert.Equal(uploadedVersion, status.SourceVersion);
        Assert.Equal(uploaded.Thumbprint, status.Serving!.Thumbprint);

        // A Secret's version that nothing names (a change refused after it was stored) is newer, and still not served.
        fixture.Vault.Put(name, orphan, Convert.ToBase64String(orphan.Export(X509ContentType.Pkcs12)), VaultStandIn.PfxContentType,
            tags: new Dictionary<string, string> { [KeyVaultCertificateSource.SecretTag] = new string('0', 64) });
        status = await grain.RefreshAsync();
        Assert.Equal(CertificateHealth.Ready, status.State);
        Assert.Equal(uploaded.Thumbprint, status.Serving!.Thumbprint);
        Assert.Equal(uploaded.Thumbprint, CertificateFiles.Describe((await grain.GetAsync()).Material!.TlsCrt!)!.Thumbprint);

        // A name that holds only Secret versions has no certificate of its own.
        fixture.Vault.Put(VaultName("t-owned-only", "web-tls"), orphan, Convert.ToBase64String(orphan.Export(X509ContentType.Pkcs12)), VaultStandIn.PfxContentType,
            tags: new Dictionary<string, string> { [KeyVaultCertificateSource.SecretTag] = new string('0', 64) });
        await ApplyAsync("t-owned-only", host, "web-tls", Ports.Free(), 9);
        Assert.Equal(CertificateHealth.NotFound, (await Certificate("t-owned-only", "web-tls").GetStatusAsync()).State);
        Assert.Null((await Certificate("t-owned-only", "web-tls").GetAsync()).Material);
    }

    [Fact]
    public async Task Without_soft_delete_a_tenants_purge_removes_its_certificates_at_once_and_only_its_own()
    {
        using var certificate = Certs.Valid("purge.vault.test");
        var source = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<ICertificateSource>();
        fixture.Vault.PutPfx(VaultName("t-purge", "a"), certificate);
        fixture.Vault.PutPfx(KeyVaultNames.For("ogw", new SecretRef("shop", "b.c") { Tenant = "t-purge" }), certificate);
        fixture.Vault.PutPfx(VaultName("t-purge-x", "a"), certificate);
        fixture.Vault.SoftDelete = false;
        try
        {
            var purged = await source.PurgeTenantAsync("t-purge", TestContext.Current.CancellationToken);

            Assert.Equal(
                [new SecretRef("default", "a") { Tenant = "t-purge" }, new SecretRef("shop", "b.c") { Tenant = "t-purge" }],
                purged.OrderBy(r => r.Namespace, StringComparer.Ordinal));
            Assert.Empty(fixture.Vault.Names(KeyVaultNames.TenantPrefix("ogw", "t-purge")));
            Assert.False(fixture.Vault.HasDeleted(VaultName("t-purge", "a")));
            Assert.True(fixture.Vault.Has(VaultName("t-purge-x", "a")));
        }
        finally
        {
            fixture.Vault.SoftDelete = true;
        }
    }

    [Fact]
    public async Task Grain_state_holds_a_reference_and_thumbprint_and_no_key_is_ever_logged()
    {
        const string tenant = "t-nokey";
        using var v1 = Certs.Valid("nokey.vault.test");
        using var v2 = Certs.Valid("nokey.vault.test");
        fixture.Vault.PutPfx(VaultName(tenant, "web-tls"), v1);
        await ApplyAsync(tenant, "nokey.vault.test", "web-tls", Ports.Free(), 9);
        var grain = Certificate(tenant, "web-tls");
        fixture.Vault.PutPem(VaultName(tenant, "web-tls"), v2, v2.ExportCertificatePem(), Certs.KeyPem(v1)); // a refused version
        await grain.RefreshAsync();
        var status = await grain.GetStatusAsync();

        var silo = fixture.Cluster.Silos[0].ServiceProvider;
        var stored = new GrainState<CertificateState>();
        await fixture.Store.For(silo.GetRequiredService<Serializer>()).ReadStateAsync("certificate", grain.GetGrainId(), stored);
        var state = Assert.IsType<CertificateState>(stored.State);
        var bytes = silo.GetRequiredService<Serializer>().SerializeToArray(state);

        Assert.Null(state.Material);
        Assert.Equal(CertificateSources.KeyVault, state.Source);
        Assert.Equal(VaultName(tenant, "web-tls"), state.Location);
        Assert.Equal(v1.Thumbprint, state.Thumbprint);
        Assert.DoesNotContain("PRIVATE KEY", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", status.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("(hidden)", fixture.Logs.All, StringComparison.Ordinal);
        foreach (var key in new[] { v1, v2 }.Select(Certs.KeyFingerprint))
        {
            Assert.DoesNotContain(key, fixture.Logs.All, StringComparison.Ordinal);
        }

        Assert.Contains("(hidden)", (await grain.GetAsync()).Material!.ToString(), StringComparison.Ordinal);
    }

    private static string VaultName(string tenant, string secret) => KeyVaultNames.For("ogw", new SecretRef("default", secret) { Tenant = tenant });

    private ICertificateGrain Certificate(string tenant, string secret) =>
        fixture.Grains.GetCertificateGrain(new SecretRef("default", secret) { Tenant = tenant });

    private void PutBad(string name, string kind, string host)
    {
        using var other = Certs.Valid(host);
        using var certificate = kind switch
        {
            "expired" => Certs.Expired(host),
            "not-yet-valid" => Certs.NotYetValid(host),
            _ => Certs.Valid(host),
        };
        var key = kind == "key-mismatch" ? Certs.KeyPem(other) : Certs.KeyPem(certificate);
        fixture.Vault.PutPem(name, certificate, certificate.ExportCertificatePem(), key);
    }

    /// <summary>
    /// <paramref name="certificate"/> in the vault as the tenant's web-tls Secret, a route for <paramref name="host"/> on a
    /// free port to an echo upstream, and an edge serving it: returned once a handshake gets that certificate.
    /// </summary>
    private async Task<Gateway> ServeFromVaultAsync(string tenant, string host, X509Certificate2 certificate)
    {
        fixture.Vault.PutPfx(VaultName(tenant, "web-tls"), certificate);
        var upstream = new EchoUpstream();
        var port = Ports.Free();
        await ApplyAsync(tenant, host, "web-tls", port, upstream.Port);
        var gateway = await Gateway.StartAsync(fixture, port, upstream);
        try
        {
            await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == certificate.Thumbprint, "the vault certificate at the edge");
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    private async Task<ApplyOutcome> ApplyAsync(string tenant, string host, string secret, int port, int upstreamPort, params Resource[] more)
    {
        var outcome = await fixture.Grains.GetTenantGrain(tenant).ApplyAsync(new ApplyRequest(
        [
            new HostResource { Name = "host", Hostname = host, TlsSecretName = secret },
            new TcpMapping { Name = "route", Port = port, Host = host, Service = $"127.0.0.1:{upstreamPort}", Address = "127.0.0.1" },
            .. more,
        ], ApplyMode.Strict, "api"));
        Assert.True(outcome.Accepted, string.Join("\n", outcome.Diagnostics));
        return outcome;
    }

    /// <summary>An edge (route cache on the silo + a real data plane) serving a route on <see cref="Port"/> to an echo upstream.</summary>
    private sealed class Gateway : IAsyncDisposable
    {
        private readonly ILoggerFactory _logging;
        private readonly EdgeRouteCache _edge;
        private readonly EchoUpstream _upstream;

        private Gateway(ILoggerFactory logging, ProxyServer proxy, EdgeRouteCache edge, int port, EchoUpstream upstream)
        {
            _logging = logging;
            Proxy = proxy;
            _edge = edge;
            Port = port;
            _upstream = upstream;
        }

        public ProxyServer Proxy { get; }

        public int Port { get; }

        public static Task<Gateway> StartAsync(VaultCluster fixture, int port, EchoUpstream upstream)
        {
            var logging = LoggerFactory.Create(b => b.AddProvider(fixture.Logs).SetMinimumLevel(LogLevel.Debug));
            var proxy = new ProxyServer(new ProxyOptions(), logging);
            var edge = new EdgeRouteCache(fixture.Grains, VaultCluster.AmbassadorId,
                (snapshot, ct) => proxy.ApplyAsync(snapshot.Plan, snapshot.Certificates, ct), logging.CreateLogger<EdgeRouteCache>());
            edge.Start();
            return Task.FromResult(new Gateway(logging, proxy, edge, port, upstream));
        }

        public async ValueTask DisposeAsync()
        {
            await _edge.DisposeAsync();
            await Proxy.DisposeAsync();
            _upstream.Dispose();
            _logging.Dispose();
        }
    }
}
