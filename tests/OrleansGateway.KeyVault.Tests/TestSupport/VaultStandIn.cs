using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansGateway.KeyVault;

namespace OrleansGateway.KeyVault.Tests.TestSupport;

/// <summary>
/// A protocol-level stand-in for Azure Key Vault (no emulator can run here; docs/key-vault.md): a Kestrel HTTPS
/// server on 127.0.0.1 with a certificate made here, answering the REST calls the real SDK clients make —
/// <c>GET /certificates</c>, <c>GET /certificates/{name}[/{version}]</c>, <c>GET /certificates/{name}/versions</c>,
/// <c>GET /secrets/{name}[/{version}]</c> (a certificate's key, or a plain secret stored with <see cref="PutSecret"/>),
/// <c>POST /certificates/{name}/import</c> (with tags),
/// <c>DELETE /certificates/{name}</c>, <c>GET /deletedcertificates[/{name}]</c>, <c>DELETE /deletedcertificates/{name}</c>
/// (purge) — with versions, soft-delete (<see cref="SoftDelete"/>) and purge protection (<see cref="PurgeProtection"/>),
/// after the bearer challenge (401 + WWW-Authenticate, then the token of <see cref="FixedTokenCredential"/>).
/// <see cref="Outage"/> makes every call fail with 503.
/// </summary>
public sealed class VaultStandIn : IAsyncDisposable
{
    public const string Token = "stand-in-token";
    public const string PemContentType = "application/x-pem-file";
    public const string PfxContentType = "application/x-pkcs12";

    private readonly ConcurrentDictionary<string, List<Version>> _certificates = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, (string Version, string Value)> _plainSecrets = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, List<Version>> _deleted = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _requests = new();
    private readonly X509Certificate2 _tls;
    private readonly WebApplication _app;
    private int _nextVersion;
    private long _lastCreated;

    private VaultStandIn(X509Certificate2 tls, WebApplication app)
    {
        _tls = tls;
        _app = app;
    }

    /// <summary>Every call answers 503 while true.</summary>
    public bool Outage { get; set; }

    /// <summary>A deleted certificate is kept (recoverable, purgeable) until purged, as Key Vault does by default; false: deleted at once.</summary>
    public bool SoftDelete { get; set; } = true;

    /// <summary>Purging answers 403, as a vault with purge protection does: deleted certificates stay until their retention ends.</summary>
    public bool PurgeProtection { get; set; }

    public Uri VaultUri { get; private set; } = null!;

    public static async Task<VaultStandIn> StartAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=vault-stand-in", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var tls = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(tls)));
        var app = builder.Build();
        var standIn = new VaultStandIn(tls, app);
        app.Run(standIn.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        standIn.VaultUri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return standIn;
    }

    /// <summary>Options for the real SDK clients: this vault, its certificate trusted, challenge resource not checked, quick retries.</summary>
    public KeyVaultOptions Options(TimeSpan? refresh = null) => new()
    {
        VaultUri = VaultUri,
        DisableChallengeResourceVerification = true,
        RefreshInterval = refresh ?? TimeSpan.FromMinutes(1),
        ConfigureClient = o =>
        {
            var thumbprint = _tls.Thumbprint;
            o.Transport = new HttpClientTransport(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == thumbprint,
            });
            o.Retry.Delay = TimeSpan.FromMilliseconds(10);
            o.Retry.MaxDelay = TimeSpan.FromMilliseconds(50);
        },
    };

    /// <summary>Stores a new version of <paramref name="name"/>: its certificate and, as its secret, <paramref name="secretValue"/>.</summary>
    public string Put(string name, X509Certificate2 certificate, string secretValue, string contentType, bool enabled = true, IReadOnlyDictionary<string, string>? tags = null)
    {
        var version = Interlocked.Increment(ref _nextVersion).ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

        // Key Vault's timestamps have seconds; strictly increasing here, so "the newest version" is never a tie.
        long created;
        lock (_deleted)
        {
            created = _lastCreated = Math.Max(_lastCreated + 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }

        var list = _certificates.GetOrAdd(name, _ => []);
        lock (list)
        {
            list.Add(new Version(version, certificate.RawData, secretValue, contentType, enabled, certificate.NotBefore, certificate.NotAfter,
                created, tags ?? new Dictionary<string, string>()));
        }

        return version;
    }

    /// <summary>A certificate with its key as a PFX secret (what Key Vault stores by default).</summary>
    public string PutPfx(string name, X509Certificate2 withKey) =>
        Put(name, withKey, Convert.ToBase64String(withKey.Export(X509ContentType.Pkcs12)), PfxContentType);

    /// <summary>A certificate with a PEM secret of <paramref name="certificatePem"/> and <paramref name="keyPem"/> (they may not match).</summary>
    public string PutPem(string name, X509Certificate2 certificate, string certificatePem, string keyPem) =>
        Put(name, certificate, certificatePem + "\n" + keyPem, PemContentType);

    /// <summary>Stores a new version of the plain secret <paramref name="name"/> (what <c>az keyvault secret set</c> does).</summary>
    public string PutSecret(string name, string value)
    {
        var version = Interlocked.Increment(ref _nextVersion).ToString("x32", System.Globalization.CultureInfo.InvariantCulture);
        _plainSecrets[name] = (version, value);
        return version;
    }

    public bool Has(string name) => _certificates.ContainsKey(name);

    /// <summary>Whether <paramref name="name"/> is deleted and not purged (soft-delete).</summary>
    public bool HasDeleted(string name) => _deleted.ContainsKey(name);

    /// <summary>The certificates (not deleted) whose names start with <paramref name="prefix"/>.</summary>
    public IReadOnlyList<string> Names(string prefix = "") => [.. _certificates.Keys.Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))];

    /// <summary>The versions of <paramref name="name"/>, oldest first, with their tags.</summary>
    public IReadOnlyList<(string Id, IReadOnlyDictionary<string, string> Tags)> Versions(string name)
    {
        if (!_certificates.TryGetValue(name, out var list))
        {
            return [];
        }

        lock (list)
        {
            return [.. list.Select(v => (v.Id, v.Tags))];
        }
    }

    public int Requests(string method, string pathStart) =>
        _requests.Where(r => r.Key.StartsWith(method + " " + pathStart, StringComparison.OrdinalIgnoreCase)).Sum(r => r.Value);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _tls.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (Outage)
        {
            context.Response.StatusCode = 503;
            await Error(context, "ServiceUnavailable", "stand-in outage");
            return;
        }

        // The challenge: the SDK's first call carries no token (and no body); it then asks its credential for one.
        if (request.Headers.Authorization.ToString() != "Bearer " + Token)
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate =
                "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"";
            await Error(context, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.");
            return;
        }

        var parts = request.Path.Value!.Trim('/').Split('/');
        _requests.AddOrUpdate(request.Method + " /" + string.Join('/', parts), 1, (_, n) => n + 1);
        switch (request.Method, parts)
        {
            case ("GET", ["certificates"]):
                await List(context, _certificates, deleted: false);
                break;
            case ("GET", ["certificates", var name]):
                await Certificate(context, name, null);
                break;
            case ("GET", ["certificates", var name, "versions"]):
                await VersionList(context, name);
                break;
            case ("GET", ["certificates", var name, var version]):
                await Certificate(context, name, version);
                break;
            case ("GET", ["secrets", var name]):
                await PlainSecret(context, name);
                break;
            case ("GET", ["secrets", var name, var version]):
                await Secret(context, name, version);
                break;
            case ("POST", ["certificates", var name, "import"]):
                await Import(context, name);
                break;
            case ("DELETE", ["certificates", var name]):
                await Delete(context, name);
                break;
            case ("GET", ["deletedcertificates"]):
                await List(context, _deleted, deleted: true);
                break;
            case ("GET", ["deletedcertificates", var name]):
                await Deleted(context, name);
                break;
            case ("DELETE", ["deletedcertificates", var name]):
                await Purge(context, name);
                break;
            default:
                context.Response.StatusCode = 400;
                await Error(context, "BadParameter", $"the stand-in does not implement {request.Method} {request.Path}");
                break;
        }
    }

    private async Task Certificate(HttpContext context, string name, string? version)
    {
        if (Find(name, version) is not { } v)
        {
            context.Response.StatusCode = 404;
            await Error(context, "CertificateNotFound", $"A certificate with (name/id) {name} was not found in this key vault.");
            return;
        }

        await Json(context, Bundle(context, name, v));
    }

    private async Task Secret(HttpContext context, string name, string version)
    {
        if (Find(name, version) is not { } v)
        {
            context.Response.StatusCode = 404;
            await Error(context, "SecretNotFound", $"A secret with (name/id) {name}/{version} was not found in this key vault.");
            return;
        }

        var baseUri = BaseUri(context);
        await Json(context, new JsonObject
        {
            ["value"] = v.SecretValue,
            ["contentType"] = v.ContentType,
            ["id"] = $"{baseUri}/secrets/{name}/{v.Id}",
            ["kid"] = $"{baseUri}/keys/{name}/{v.Id}",
            ["managed"] = true,
            ["attributes"] = Attributes(v),
        });
    }

    private async Task PlainSecret(HttpContext context, string name)
    {
        if (!_plainSecrets.TryGetValue(name, out var secret))
        {
            context.Response.StatusCode = 404;
            await Error(context, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.");
            return;
        }

        await Json(context, new JsonObject
        {
            ["value"] = secret.Value,
            ["contentType"] = "text/plain",
            ["id"] = $"{BaseUri(context)}/secrets/{name}/{secret.Version}",
            ["attributes"] = new JsonObject { ["enabled"] = true, ["recoveryLevel"] = "Recoverable+Purgeable" },
        });
    }

    private async Task Import(HttpContext context, string name)
    {
        if (_deleted.ContainsKey(name))
        {
            context.Response.StatusCode = 409;
            await Error(context, "Conflict", $"Certificate {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.");
            return;
        }

        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        var tags = body["tags"]?.AsObject().ToDictionary(t => t.Key, t => t.Value!.GetValue<string>());
        var contentType = body["policy"]?["secret_props"]?["contentType"]?.GetValue<string>() ?? PfxContentType;
        var value = body["value"]!.GetValue<string>();
        var password = body["pwd"]?.GetValue<string>();
        X509Certificate2 certificate;
        string secretValue;
        if (contentType == PemContentType)
        {
            certificate = X509Certificate2.CreateFromPem(value);
            secretValue = value;
        }
        else
        {
            var pfx = Convert.FromBase64String(value);
            certificate = X509CertificateLoader.LoadPkcs12Collection(pfx, password).First(c => c.HasPrivateKey);
            secretValue = value;
        }

        Put(name, certificate, secretValue, contentType, tags: tags);
        await Json(context, Bundle(context, name, Find(name, null)!));
    }

    private async Task List(HttpContext context, ConcurrentDictionary<string, List<Version>> store, bool deleted)
    {
        var baseUri = BaseUri(context);
        var items = new JsonArray();
        foreach (var name in store.Keys.Order(StringComparer.Ordinal))
        {
            if (Last(store, name) is not { } v)
            {
                continue;
            }

            var item = Item(baseUri, name, v, withVersion: false);
            if (deleted)
            {
                AddDeletion(item, baseUri, name);
            }

            items.Add(item);
        }

        await Json(context, new JsonObject { ["value"] = items, ["nextLink"] = null });
    }

    private async Task VersionList(HttpContext context, string name)
    {
        if (!_certificates.TryGetValue(name, out var list))
        {
            context.Response.StatusCode = 404;
            await Error(context, "CertificateNotFound", $"A certificate with (name/id) {name} was not found in this key vault.");
            return;
        }

        var baseUri = BaseUri(context);
        JsonArray items;
        lock (list)
        {
            items = [.. list.Select(v => (JsonNode)Item(baseUri, name, v, withVersion: true))];
        }

        await Json(context, new JsonObject { ["value"] = items, ["nextLink"] = null });
    }

    private async Task Delete(HttpContext context, string name)
    {
        if (!_certificates.TryRemove(name, out var versions))
        {
            context.Response.StatusCode = 404;
            await Error(context, "CertificateNotFound", $"A certificate with (name/id) {name} was not found in this key vault.");
            return;
        }

        var bundle = Bundle(context, name, versions[^1]);
        if (SoftDelete)
        {
            _deleted[name] = versions;
            AddDeletion(bundle, BaseUri(context), name);
        }

        await Json(context, bundle);
    }

    private async Task Deleted(HttpContext context, string name)
    {
        if (Last(_deleted, name) is not { } v)
        {
            context.Response.StatusCode = 404;
            await Error(context, "CertificateNotFound", $"Deleted Certificate not found: {name}");
            return;
        }

        var bundle = Bundle(context, name, v);
        AddDeletion(bundle, BaseUri(context), name);
        await Json(context, bundle);
    }

    private async Task Purge(HttpContext context, string name)
    {
        if (PurgeProtection)
        {
            context.Response.StatusCode = 403;
            await Error(context, "Forbidden", $"Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.");
            return;
        }

        if (!_deleted.TryRemove(name, out _))
        {
            context.Response.StatusCode = 404;
            await Error(context, "CertificateNotFound", $"Deleted Certificate not found: {name}");
            return;
        }

        context.Response.StatusCode = 204;
    }

    private static Version? Last(ConcurrentDictionary<string, List<Version>> store, string name)
    {
        if (!store.TryGetValue(name, out var list))
        {
            return null;
        }

        lock (list)
        {
            return list.Count == 0 ? null : list[^1];
        }
    }

    private static JsonObject Item(string baseUri, string name, Version v, bool withVersion) => new()
    {
        ["id"] = withVersion ? $"{baseUri}/certificates/{name}/{v.Id}" : $"{baseUri}/certificates/{name}",
        ["x5t"] = Base64Url(SHA1.HashData(v.Cer)),
        ["attributes"] = Attributes(v),
        ["tags"] = Tags(v),
    };

    private static void AddDeletion(JsonObject bundle, string baseUri, string name)
    {
        bundle["recoveryId"] = $"{baseUri}/deletedcertificates/{name}";
        bundle["deletedDate"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        bundle["scheduledPurgeDate"] = DateTimeOffset.UtcNow.AddDays(90).ToUnixTimeSeconds();
    }

    private static JsonObject Tags(Version v) => new([.. v.Tags.Select(t => KeyValuePair.Create(t.Key, (JsonNode?)t.Value))]);

    private Version? Find(string name, string? version)
    {
        if (!_certificates.TryGetValue(name, out var list))
        {
            return null;
        }

        lock (list)
        {
            return version is null ? list[^1] : list.FirstOrDefault(v => v.Id == version);
        }
    }

    private static JsonObject Bundle(HttpContext context, string name, Version v)
    {
        var baseUri = BaseUri(context);
        return new JsonObject
        {
            ["id"] = $"{baseUri}/certificates/{name}/{v.Id}",
            ["kid"] = $"{baseUri}/keys/{name}/{v.Id}",
            ["sid"] = $"{baseUri}/secrets/{name}/{v.Id}",
            ["x5t"] = Base64Url(SHA1.HashData(v.Cer)),
            ["cer"] = Convert.ToBase64String(v.Cer),
            ["attributes"] = Attributes(v),
            ["tags"] = Tags(v),
            ["policy"] = new JsonObject
            {
                ["id"] = $"{baseUri}/certificates/{name}/policy",
                ["key_props"] = new JsonObject { ["exportable"] = true, ["kty"] = "RSA", ["key_size"] = 2048, ["reuse_key"] = false },
                ["secret_props"] = new JsonObject { ["contentType"] = v.ContentType },
                ["x509_props"] = new JsonObject { ["subject"] = "CN=stand-in", ["validity_months"] = 12 },
                ["issuer"] = new JsonObject { ["name"] = "Unknown" },
                ["attributes"] = new JsonObject { ["enabled"] = true },
            },
        };
    }

    private static JsonObject Attributes(Version v) => new()
    {
        ["enabled"] = v.Enabled,
        ["nbf"] = new DateTimeOffset(v.NotBefore.ToUniversalTime()).ToUnixTimeSeconds(),
        ["exp"] = new DateTimeOffset(v.NotAfter.ToUniversalTime()).ToUnixTimeSeconds(),
        ["created"] = v.Created,
        ["updated"] = v.Created,
        ["recoveryLevel"] = "Recoverable+Purgeable",
    };

    private static string BaseUri(HttpContext context) => $"https://{context.Request.Host}";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Task Json(HttpContext context, JsonNode node)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(node.ToJsonString());
    }

    private static Task Error(HttpContext context, string code, string message) =>
        Json(context, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });

    private sealed record Version(
        string Id, byte[] Cer, string SecretValue, string ContentType, bool Enabled, DateTime NotBefore, DateTime NotAfter, long Created, IReadOnlyDictionary<string, string> Tags);
}

/// <summary>A <see cref="TokenCredential"/> that hands out the stand-in's token (and counts how often it was asked).</summary>
public sealed class FixedTokenCredential(string token = VaultStandIn.Token) : TokenCredential
{
    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(token, DateTimeOffset.UtcNow.AddHours(1));

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
