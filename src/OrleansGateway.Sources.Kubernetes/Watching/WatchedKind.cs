using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace OrleansGateway.Sources.Kubernetes.Watching;

/// <summary>A list of objects and the resourceVersion to watch from.</summary>
internal sealed record KubeList(ImmutableArray<JsonElement> Items, string ResourceVersion);

/// <summary>
/// One kind the gateway lists and watches, with the KubernetesClient calls for it, cluster-wide or in one namespace.
/// Objects travel as JSON whatever the kind: custom resources come that way, built-in kinds are serialized back (their
/// list items carry no <c>kind</c>, as on a real server, so it is set here).
/// </summary>
internal sealed record WatchedKind(
    string Resource,
    string Kind,
    string ApiVersion,
    Func<IKubernetes, string?, CancellationToken, Task<KubeList>> List,
    Func<IKubernetes, string?, string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType Type, JsonElement Object)>> Watch)
{
    public const string AmbassadorGroup = "getambassador.io";

    /// <summary>Only v3alpha1: the API server serves v2 objects under it too, so watching both would see each object twice.</summary>
    public const string AmbassadorVersion = "v3alpha1";

    /// <summary>The server ends each watch after this long; the gateway then watches again from the last version.</summary>
    private const int WatchSeconds = 300;

    /// <summary>Emissary's kinds the gateway reads (plural, kind).</summary>
    public static readonly ImmutableArray<WatchedKind> Ambassador =
    [
        Custom("tcpmappings", "TCPMapping"),
        Custom("listeners", "Listener"),
        Custom("hosts", "Host"),
        Custom("tlscontexts", "TLSContext"),
        Custom("modules", "Module"),
        Custom("kubernetesserviceresolvers", "KubernetesServiceResolver"),
        Custom("kubernetesendpointresolvers", "KubernetesEndpointResolver"),
        Custom("consulresolvers", "ConsulResolver"),
    ];

    public static readonly WatchedKind Namespaces = BuiltIn<V1NamespaceList, V1Namespace>(
        "namespaces",
        "Namespace",
        "v1",
        (c, _, ct) => c.CoreV1.ListNamespaceAsync(cancellationToken: ct),
        (c, _, w) => c.CoreV1.WatchListNamespaceAsync(
            allowWatchBookmarks: true, resourceVersion: w.ResourceVersion, timeoutSeconds: WatchSeconds, onError: w.OnError, cancellationToken: w.Cancellation));

    public static readonly WatchedKind Secrets = BuiltIn<V1SecretList, V1Secret>(
        "secrets",
        "Secret",
        "v1",
        (c, ns, ct) => ns is null ? c.CoreV1.ListSecretForAllNamespacesAsync(cancellationToken: ct) : c.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: ct),
        (c, ns, w) => ns is null
            ? c.CoreV1.WatchListSecretForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: w.ResourceVersion, timeoutSeconds: WatchSeconds, onError: w.OnError, cancellationToken: w.Cancellation)
            : c.CoreV1.WatchListNamespacedSecretAsync(
                ns, allowWatchBookmarks: true, resourceVersion: w.ResourceVersion, timeoutSeconds: WatchSeconds, onError: w.OnError, cancellationToken: w.Cancellation));

    public static readonly WatchedKind Services = BuiltIn<V1ServiceList, V1Service>(
        "services",
        "Service",
        "v1",
        (c, ns, ct) => ns is null ? c.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: ct) : c.CoreV1.ListNamespacedServiceAsync(ns, cancellationToken: ct),
        (c, ns, w) => ns is null
            ? c.CoreV1.WatchListServiceForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: w.ResourceVersion, timeoutSeconds: WatchSeconds, onError: w.OnError, cancellationToken: w.Cancellation)
            : c.CoreV1.WatchListNamespacedServiceAsync(
                ns, allowWatchBookmarks: true, resourceVersion: w.ResourceVersion, timeoutSeconds: WatchSeconds, onError: w.OnError, cancellationToken: w.Cancellation));

    public static readonly WatchedKind EndpointSlices = BuiltIn<V1EndpointSliceList, V1EndpointSlice>(
        "endpointslices",
        "EndpointSlice",
        "discovery.k8s.io/v1",
        (c, ns, ct) => ns is null
            ? c.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(cancellationToken: ct)
            : c.DiscoveryV1.ListNamespacedEndpointSliceAsync(ns, cancellationToken: ct),
        (c, ns, w) => ns is null
            ? c.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: w.ResourceVersion, timeoutSeconds: WatchSeconds, onError: w.OnError, cancellationToken: w.Cancellation)
            : c.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
                ns, allowWatchBookmarks: true, resourceVersion: w.ResourceVersion, timeoutSeconds: WatchSeconds, onError: w.OnError, cancellationToken: w.Cancellation));

    public bool IsAmbassador => ApiVersion.StartsWith(AmbassadorGroup + "/", StringComparison.Ordinal);

    private static WatchedKind Custom(string plural, string kind) => new(
        plural,
        kind,
        $"{AmbassadorGroup}/{AmbassadorVersion}",
        async (c, ns, ct) => CustomList(ns is null
            ? await c.CustomObjects.ListClusterCustomObjectAsync(AmbassadorGroup, AmbassadorVersion, plural, cancellationToken: ct).ConfigureAwait(false)
            : await c.CustomObjects.ListNamespacedCustomObjectAsync(AmbassadorGroup, AmbassadorVersion, ns, plural, cancellationToken: ct).ConfigureAwait(false)),
        (c, ns, rv, onError, ct) => Custom(
            ns is null
                ? c.CustomObjects.WatchListClusterCustomObjectAsync(
                    AmbassadorGroup, AmbassadorVersion, plural, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct)
                : c.CustomObjects.WatchListNamespacedCustomObjectAsync(
                    AmbassadorGroup, AmbassadorVersion, ns, plural, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct),
            ct));

    private static KubeList CustomList(object list)
    {
        var json = ToJson(list);
        var items = json.TryGetProperty("items", out var i) && i.ValueKind == JsonValueKind.Array ? [.. i.EnumerateArray()] : ImmutableArray<JsonElement>.Empty;
        return new KubeList(items, json.TryGetProperty("metadata", out _) ? KubeObject.ResourceVersionOf(json) ?? "" : "");
    }

    private static async IAsyncEnumerable<(WatchEventType, JsonElement)> Custom(
        IAsyncEnumerable<(WatchEventType, object)> events, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (type, item) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return (type, ToJson(item));
        }
    }

    /// <summary>What one watch call needs beside the client and the namespace.</summary>
    private sealed record WatchArgs(string ResourceVersion, Action<Exception> OnError, CancellationToken Cancellation);

    /// <summary>
    /// A built-in kind from its KubernetesClient list and watch calls (<c>null</c> namespace: all namespaces): the
    /// typed objects become JSON with their apiVersion and kind set.
    /// </summary>
    private static WatchedKind BuiltIn<TList, TItem>(
        string resource,
        string kind,
        string apiVersion,
        Func<IKubernetes, string?, CancellationToken, Task<TList>> list,
        Func<IKubernetes, string?, WatchArgs, IAsyncEnumerable<(WatchEventType, TItem)>> watch)
        where TList : IItems<TItem>, IMetadata<V1ListMeta>
        where TItem : IKubernetesObject => new(
        resource,
        kind,
        apiVersion,
        async (c, ns, ct) =>
        {
            var items = await list(c, ns, ct).ConfigureAwait(false);
            return new KubeList([.. items.Items.Select(item => WithKind(item, apiVersion, kind))], items.Metadata?.ResourceVersion ?? "");
        },
        (c, ns, rv, onError, ct) => Typed(watch(c, ns, new WatchArgs(rv, onError, ct)), apiVersion, kind, ct));

    private static async IAsyncEnumerable<(WatchEventType, JsonElement)> Typed<T>(
        IAsyncEnumerable<(WatchEventType, T)> events, string apiVersion, string kind, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        await foreach (var (type, item) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return (type, WithKind(item, apiVersion, kind));
        }
    }

    private static JsonElement WithKind(IKubernetesObject item, string apiVersion, string kind)
    {
        item.ApiVersion ??= apiVersion;
        item.Kind ??= kind;
        return ToJson(item);
    }

    private static JsonElement ToJson(object item) => item is JsonElement json
        ? json
        : JsonDocument.Parse(KubernetesJson.Serialize(item)).RootElement.Clone();
}
