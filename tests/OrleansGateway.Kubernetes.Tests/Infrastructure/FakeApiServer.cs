using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Kubernetes.Tests.Infrastructure;

/// <summary>How the stand-in refuses a watch from a version it no longer has.</summary>
public enum GoneMode
{
    /// <summary>HTTP 200, then one <c>ERROR</c> event whose object is a Status with code 410, then the end of the stream.</summary>
    ErrorEvent,

    /// <summary>HTTP 410 with a Status body.</summary>
    HttpStatus,
}

/// <summary>
/// A protocol-level stand-in for a Kubernetes API server (no API server can run here; docs/kubernetes.md, "Tests"),
/// for the real KubernetesClient: HTTPS on 127.0.0.1 with a CA the kubeconfig names, a bearer token, and the REST calls
/// the gateway makes, answered as a real server answers them:
/// <list type="bullet">
/// <item>lists (<c>{kind: XList, metadata.resourceVersion, items}</c>; items of built-in kinds carry no kind);</item>
/// <item>watches (<c>?watch=true&amp;resourceVersion=N&amp;allowWatchBookmarks=true</c>): a chunked stream of one JSON event
/// per line, every change after N in order, BOOKMARKs, <c>timeoutSeconds</c>; a version older than the last
/// <see cref="Compact"/> is refused with 410, as an ERROR event or as the HTTP status (<see cref="Gone"/>);</item>
/// <item>one global resourceVersion; <c>metadata.generation</c> that moves with the spec only; uids;</item>
/// <item>merge patches of a custom resource's status subresource (404 where the CRD has none,
/// <see cref="WithoutStatusSubresource"/>; 415 for a strategic merge patch), of a Service, and Events created by POST.</item>
/// </list>
/// The test changes objects directly (<see cref="Apply"/>, <see cref="Delete"/>), cuts or ends the streams, and stops
/// and restarts the server on the same port (an unreachable API server).
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    public const string Token = "fake-api-server-token";

    public const string Namespaces = "core/v1/namespaces";
    public const string Secrets = "core/v1/secrets";
    public const string Services = "core/v1/services";
    public const string Events = "core/v1/events";
    public const string EndpointSlices = "discovery.k8s.io/v1/endpointslices";
    public const string TcpMappings = "getambassador.io/v3alpha1/tcpmappings";

    private static readonly Dictionary<string, string> BuiltInKinds = new()
    {
        [Namespaces] = "Namespace",
        [Secrets] = "Secret",
        [Services] = "Service",
        [Events] = "Event",
        [EndpointSlices] = "EndpointSlice",
    };

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<(string Namespace, string Name), JsonObject>> _collections = new(StringComparer.Ordinal);
    private readonly List<Change> _history = [];
    private readonly List<Watcher> _watchers = [];
    private readonly HashSet<string> _withoutStatus = new(StringComparer.Ordinal);
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _serverCertificate;
    private readonly string _directory = Directory.CreateTempSubdirectory("ogw-fake-api-").FullName;
    private long _version = 1000;
    private TaskCompletionSource? _held;
    private int _waiting;
    private long _oldestWatchable;
    private WebApplication? _app;

    private FakeApiServer(X509Certificate2 ca, X509Certificate2 serverCertificate, int port)
    {
        _ca = ca;
        _serverCertificate = serverCertificate;
        Port = port;
        KubeconfigPath = Path.Combine(_directory, "kubeconfig");
        File.WriteAllText(KubeconfigPath, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: https://127.0.0.1:{port}
                certificate-authority-data: {Convert.ToBase64String(Encoding.ASCII.GetBytes(ca.ExportCertificatePem()))}
            users:
            - name: gateway
              user:
                token: {Token}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: gateway
            current-context: fake
            """);
    }

    public int Port { get; }

    /// <summary>A kubeconfig for this server: its address, its CA, the token.</summary>
    public string KubeconfigPath { get; }

    /// <summary>How a watch from a compacted version is refused.</summary>
    public GoneMode Gone { get; set; } = GoneMode.ErrorEvent;

    /// <summary>How often an idle watch that asked for bookmarks gets one.</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Every request as <c>METHOD path?query</c>, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Watch streams open right now.</summary>
    public int OpenWatches
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Count;
            }
        }
    }

    public static async Task<FakeApiServer> StartAsync()
    {
        var (ca, leaf) = Certificates();
        var server = new FakeApiServer(ca, leaf, Ports.Free());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>The custom resource kind (plural) has no status subresource, as most kinds of Emissary's own CRDs.</summary>
    public void WithoutStatusSubresource(string plural) => _withoutStatus.Add($"getambassador.io/v3alpha1/{plural}");

    /// <summary>Creates or replaces an object (the spec as given; a custom resource with a status subresource keeps its status).</summary>
    public JsonObject Apply(string collection, JsonObject item)
    {
        lock (_lock)
        {
            var metadata = (JsonObject)item["metadata"]!;
            var key = (metadata["namespace"]?.GetValue<string>() ?? "", metadata["name"]!.GetValue<string>());
            var items = Collection(collection);
            var next = (JsonObject)item.DeepClone();
            var nextMetadata = (JsonObject)next["metadata"]!;
            if (items.TryGetValue(key, out var before))
            {
                var beforeMetadata = (JsonObject)before["metadata"]!;
                nextMetadata["uid"] = beforeMetadata["uid"]!.DeepClone();
                nextMetadata["creationTimestamp"] = beforeMetadata["creationTimestamp"]!.DeepClone();
                var generation = beforeMetadata["generation"]!.GetValue<long>();
                nextMetadata["generation"] = SpecOf(before) == SpecOf(next) ? generation : generation + 1;
                if (HasStatusSubresource(collection))
                {
                    next.Remove("status");
                    if (before["status"] is { } status)
                    {
                        next["status"] = status.DeepClone();
                    }
                }

                return Write(collection, key, next, "MODIFIED");
            }

            nextMetadata["uid"] = Guid.NewGuid().ToString();
            nextMetadata["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            nextMetadata["generation"] = 1L;
            return Write(collection, key, next, "ADDED");
        }
    }

    public bool Delete(string collection, string ns, string name)
    {
        lock (_lock)
        {
            if (!Collection(collection).Remove((ns, name), out var gone))
            {
                return false;
            }

            _version++;
            ((JsonObject)gone["metadata"]!)["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Publish(collection, "DELETED", gone);
            return true;
        }
    }

    public JsonObject? Get(string collection, string ns, string name)
    {
        lock (_lock)
        {
            return Collection(collection).TryGetValue((ns, name), out var item) ? (JsonObject)item.DeepClone() : null;
        }
    }

    public IReadOnlyList<JsonObject> Items(string collection)
    {
        lock (_lock)
        {
            return [.. Collection(collection).Values.Select(i => (JsonObject)i.DeepClone())];
        }
    }

    /// <summary>Forgets the history: a watch from any version before now is refused with 410 (<see cref="Gone"/>).</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _history.Clear();
            _oldestWatchable = _version;
        }
    }

    /// <summary>Sends every open watch an ERROR event with a 410 Status and ends it (the watch cache fell behind).</summary>
    public void ExpireWatches()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Lines.Writer.TryWrite(ErrorLine());
                watcher.Lines.Writer.TryComplete();
            }
        }
    }

    /// <summary>Ends every open watch cleanly, as a server does at its timeout.</summary>
    public void EndWatches()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Lines.Writer.TryComplete();
            }
        }
    }

    /// <summary>Cuts every open watch mid-stream (the connection is reset).</summary>
    public void DropWatches()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Context.Abort();
            }
        }
    }

    /// <summary>
    /// Cuts every open watch and keeps new watch requests waiting until <see cref="ReleaseWatches"/>: what changes
    /// meanwhile reaches the client only when it watches again (or lists).
    /// </summary>
    public void HoldWatches()
    {
        lock (_lock)
        {
            _held ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        DropWatches();
    }

    public void ReleaseWatches()
    {
        lock (_lock)
        {
            _held?.TrySetResult();
            _held = null;
        }
    }

    /// <summary>Watch requests waiting for <see cref="ReleaseWatches"/>.</summary>
    public int HeldWatches => Volatile.Read(ref _waiting);

    /// <summary>Stops answering: the port refuses connections and open streams are cut.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            DropWatches();
            await app.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            await app.DisposeAsync();
        }
    }

    /// <summary>Answers again, on the same port, with everything it held.</summary>
    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, l => l.UseHttps(_serverCertificate)));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _ca.Dispose();
        _serverCertificate.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans temp eventually.
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        try
        {
            await AnswerAsync(context);
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
        {
            // A bug of the stand-in: the test sees what went wrong in the 500's Status.
            await StatusAsync(context, 500, "InternalError", e.ToString());
        }
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var request = context.Request;
        Requests.Enqueue($"{request.Method} {request.Path}{request.QueryString}");
        if (request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await StatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }

        if (!Route(request.Path.Value ?? "", out var collection, out var ns, out var name, out var subresource))
        {
            await StatusAsync(context, 404, "NotFound", $"the server could not find the requested resource ({request.Path})");
            return;
        }

        switch (request.Method)
        {
            case "GET" when name is null && request.Query["watch"] is var watch && (watch == "true" || watch == "1"):
                await WatchAsync(context, collection, ns);
                break;
            case "GET" when name is null:
                await ListAsync(context, collection, ns);
                break;
            case "GET":
                var found = Get(collection, ns ?? "", name);
                await (found is null ? NotFoundAsync(context, collection, name) : JsonAsync(context, 200, found));
                break;
            case "PATCH" when name is not null:
                await PatchAsync(context, collection, ns ?? "", name, subresource);
                break;
            case "POST" when name is null && ns is not null:
                await CreateAsync(context, collection, ns);
                break;
            default:
                await StatusAsync(context, 405, "MethodNotAllowed", $"{request.Method} is not supported here");
                break;
        }
    }

    /// <summary><c>/api/v1/...</c> or <c>/apis/GROUP/VERSION/...</c>, then <c>[namespaces/NS/]PLURAL[/NAME[/status]]</c>.</summary>
    private static bool Route(string path, out string collection, out string? ns, out string? name, out string? subresource)
    {
        collection = "";
        ns = name = subresource = null;
        var parts = path.Trim('/').Split('/');
        string[] rest;
        if (parts is ["api", "v1", .. var core])
        {
            collection = "core/v1/";
            rest = core;
        }
        else if (parts is ["apis", var group, var version, .. var grouped])
        {
            collection = $"{group}/{version}/";
            rest = grouped;
        }
        else
        {
            return false;
        }

        if (rest is ["namespaces", var n, var plural, .. var item] && (item.Length <= 2))
        {
            ns = n;
            collection += plural;
            name = item.Length > 0 ? item[0] : null;
            subresource = item.Length > 1 ? item[1] : null;
            return true;
        }

        if (rest is [var clusterPlural, .. var clusterItem] && clusterItem.Length <= 1)
        {
            collection += clusterPlural;
            name = clusterItem.Length > 0 ? clusterItem[0] : null;
            return true;
        }

        return false;
    }

    private async Task ListAsync(HttpContext context, string collection, string? ns)
    {
        JsonObject list;
        lock (_lock)
        {
            var builtIn = BuiltInKinds.TryGetValue(collection, out var kind);
            var items = new JsonArray();
            foreach (var item in Collection(collection).Values.Where(i => ns is null || NamespaceOf(i) == ns)
                         .OrderBy(NamespaceOf, StringComparer.Ordinal).ThenBy(i => i["metadata"]!["name"]!.GetValue<string>(), StringComparer.Ordinal))
            {
                var copy = (JsonObject)item.DeepClone();
                if (builtIn)
                {
                    // A real server leaves kind and apiVersion out of the items of a built-in list.
                    copy.Remove("kind");
                    copy.Remove("apiVersion");
                }

                items.Add(copy);
            }

            list = new JsonObject
            {
                ["apiVersion"] = ApiVersionOf(collection),
                ["kind"] = (kind ?? KindOf(collection)) + "List",
                ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["items"] = items,
            };
        }

        await JsonAsync(context, 200, list);
    }

    private async Task WatchAsync(HttpContext context, string collection, string? ns)
    {
        var query = context.Request.Query;
        var bookmarks = query["allowWatchBookmarks"] == "true";
        var timeout = int.TryParse(query["timeoutSeconds"], out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
        var from = long.TryParse(query["resourceVersion"], out var v) ? v : _version;
        Task? held;
        lock (_lock)
        {
            held = _held?.Task;
        }

        if (held is not null)
        {
            Interlocked.Increment(ref _waiting);
            try
            {
                await held.WaitAsync(context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }

        var watcher = new Watcher(collection, ns, context);
        List<string> backlog;
        lock (_lock)
        {
            if (from < _oldestWatchable)
            {
                backlog = [];
                watcher = null;
            }
            else
            {
                backlog = [.. _history.Where(c => c.Version > from && watcherMatches(c)).Select(c => Line(c.Type, c.Object))];
                _watchers.Add(watcher);
            }

            bool watcherMatches(Change c) => c.Collection == collection && (ns is null || NamespaceOf(c.Object) == ns);
        }

        if (watcher is null)
        {
            if (Gone == GoneMode.HttpStatus)
            {
                await StatusAsync(context, 410, "Expired", $"too old resource version: {from} ({_oldestWatchable})");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(ErrorLine(), context.RequestAborted);
            return;
        }

        try
        {
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(context.RequestAborted);
            foreach (var line in backlog)
            {
                await WriteLineAsync(context, line);
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(timeout);
            while (true)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                wait.CancelAfter(BookmarkInterval);
                string line;
                try
                {
                    if (!await watcher.Lines.Reader.WaitToReadAsync(wait.Token))
                    {
                        return;
                    }

                    line = await watcher.Lines.Reader.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                {
                    if (bookmarks)
                    {
                        await WriteLineAsync(context, Bookmark(collection));
                    }

                    continue;
                }

                await WriteLineAsync(context, line);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Timed out, cut, or the client went away.
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(watcher);
            }
        }
    }

    private async Task PatchAsync(HttpContext context, string collection, string ns, string name, string? subresource)
    {
        var type = context.Request.ContentType ?? "";
        var custom = !BuiltInKinds.ContainsKey(collection);
        if (!type.StartsWith("application/merge-patch+json", StringComparison.Ordinal))
        {
            var why = custom && type.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal)
                ? "strategic merge patch is not supported for custom resources"
                : $"the stand-in applies merge patches only, not {type}";
            await StatusAsync(context, 415, "UnsupportedMediaType", why);
            return;
        }

        if (subresource is not null && (subresource != "status" || !HasStatusSubresource(collection)))
        {
            await StatusAsync(context, 404, "NotFound", "the server could not find the requested resource");
            return;
        }

        var patch = await JsonNode.ParseAsync(context.Request.Body) as JsonObject ?? [];
        JsonObject? patched = null;
        lock (_lock)
        {
            if (Collection(collection).TryGetValue((ns, name), out var before))
            {
                var next = (JsonObject)Merge(before, subresource is null ? Without(patch, "status") : Only(patch, "status"))!;
                var metadata = (JsonObject)next["metadata"]!;
                var generation = before["metadata"]!["generation"]!.GetValue<long>();
                metadata["generation"] = SpecOf(before) == SpecOf(next) ? generation : generation + 1;
                patched = Write(collection, (ns, name), next, "MODIFIED");
            }
        }

        await (patched is null ? NotFoundAsync(context, collection, name) : JsonAsync(context, 200, patched));
    }

    private async Task CreateAsync(HttpContext context, string collection, string ns)
    {
        var item = await JsonNode.ParseAsync(context.Request.Body) as JsonObject ?? [];
        var metadata = item["metadata"] as JsonObject ?? [];
        item["metadata"] = metadata;
        metadata["namespace"] = ns;
        if (metadata["name"] is null)
        {
            metadata["name"] = (metadata["generateName"]?.GetValue<string>() ?? "") + Guid.NewGuid().ToString("N")[..5];
        }

        await JsonAsync(context, 201, Apply(collection, item));
    }

    /// <summary>Stores a new version (under the lock) and tells the watches.</summary>
    private JsonObject Write(string collection, (string, string) key, JsonObject item, string type)
    {
        _version++;
        ((JsonObject)item["metadata"]!)["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Collection(collection)[key] = item;
        Publish(collection, type, item);
        return (JsonObject)item.DeepClone();
    }

    private void Publish(string collection, string type, JsonObject item)
    {
        var copy = (JsonObject)item.DeepClone();
        _history.Add(new Change(_version, collection, type, copy));
        var line = Line(type, copy);
        foreach (var watcher in _watchers.Where(w => w.Collection == collection && (w.Namespace is null || w.Namespace == NamespaceOf(copy))))
        {
            watcher.Lines.Writer.TryWrite(line);
        }
    }

    private Dictionary<(string, string), JsonObject> Collection(string collection)
    {
        if (!_collections.TryGetValue(collection, out var items))
        {
            _collections[collection] = items = [];
        }

        return items;
    }

    private bool HasStatusSubresource(string collection) => !BuiltInKinds.ContainsKey(collection) && !_withoutStatus.Contains(collection);

    private string Bookmark(string collection)
    {
        lock (_lock)
        {
            return Line("BOOKMARK", new JsonObject
            {
                ["kind"] = BuiltInKinds.GetValueOrDefault(collection) ?? KindOf(collection),
                ["apiVersion"] = ApiVersionOf(collection),
                ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            });
        }
    }

    private static string ErrorLine() => Line("ERROR", StatusObject(410, "Expired", "too old resource version"));

    private static string Line(string type, JsonObject item) => new JsonObject { ["type"] = type, ["object"] = item.DeepClone() }.ToJsonString() + "\n";

    private static async Task WriteLineAsync(HttpContext context, string line)
    {
        await context.Response.WriteAsync(line, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static Task NotFoundAsync(HttpContext context, string collection, string name) =>
        StatusAsync(context, 404, "NotFound", $"{collection.Split('/')[^1]} \"{name}\" not found");

    private static Task StatusAsync(HttpContext context, int code, string reason, string message) =>
        JsonAsync(context, code, StatusObject(code, reason, message));

    private static JsonObject StatusObject(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static async Task JsonAsync(HttpContext context, int code, JsonObject body)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    /// <summary>RFC 7386: objects merge key by key, null removes, anything else replaces (lists included).</summary>
    private static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = Merge(result[key], value);
            }
        }

        return result;
    }

    private static JsonObject Without(JsonObject patch, string field)
    {
        var copy = (JsonObject)patch.DeepClone();
        copy.Remove(field);
        return copy;
    }

    private static JsonObject Only(JsonObject patch, string field) =>
        patch[field] is { } value ? new JsonObject { [field] = value.DeepClone() } : [];

    /// <summary>What the generation follows: everything but metadata and status.</summary>
    private static string SpecOf(JsonObject item)
    {
        var copy = (JsonObject)item.DeepClone();
        copy.Remove("metadata");
        copy.Remove("status");
        return copy.ToJsonString();
    }

    private static string NamespaceOf(JsonObject item) => item["metadata"]?["namespace"]?.GetValue<string>() ?? "";

    private static string ApiVersionOf(string collection)
    {
        var parts = collection.Split('/');
        return parts[0] == "core" ? parts[1] : $"{parts[0]}/{parts[1]}";
    }

    private static string KindOf(string collection) => collection.Split('/')[^1] switch
    {
        "tcpmappings" => "TCPMapping",
        "tlscontexts" => "TLSContext",
        "kubernetesserviceresolvers" => "KubernetesServiceResolver",
        "kubernetesendpointresolvers" => "KubernetesEndpointResolver",
        "consulresolvers" => "ConsulResolver",
        var plural => char.ToUpperInvariant(plural[0]) + plural[1..^1],
    };

    /// <summary>A CA, and a server certificate it issued for 127.0.0.1 (what a kubeconfig's certificate-authority-data trusts).</summary>
    private static (X509Certificate2 Ca, X509Certificate2 Server) Certificates()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=fake-api-server-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(2));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        var server = X509CertificateLoader.LoadPkcs12(issued.CopyWithPrivateKey(key).Export(X509ContentType.Pkcs12), null);
        return (ca, server);
    }

    private sealed record Change(long Version, string Collection, string Type, JsonObject Object);

    private sealed class Watcher(string collection, string? ns, HttpContext context)
    {
        public string Collection { get; } = collection;
        public string? Namespace { get; } = ns;
        public HttpContext Context { get; } = context;
        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
    }
}
