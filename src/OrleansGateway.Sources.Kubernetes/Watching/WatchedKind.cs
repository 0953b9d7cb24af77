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

    public static readonly WatchedKind Namespaces = new(
        "namespaces",
        "Namespace",
        "v1",
        async (c, _, ct) => Typed(await c.CoreV1.ListNamespaceAsync(cancellationToken: ct).ConfigureAwait(false), "v1", "Namespace"),
        (c, _, rv, onError, ct) => Typed(
            c.CoreV1.WatchListNamespaceAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct),
            "v1",
            "Namespace",
            ct));

    public static readonly WatchedKind Secrets = new(
        "secrets",
        "Secret",
        "v1",
        async (c, ns, ct) => Typed(
            ns is null
                ? await c.CoreV1.ListSecretForAllNamespacesAsync(cancellationToken: ct).ConfigureAwait(false)
                : await c.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: ct).ConfigureAwait(false),
            "v1",
            "Secret"),
        (c, ns, rv, onError, ct) => Typed(
            ns is null
                ? c.CoreV1.WatchListSecretForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct)
                : c.CoreV1.WatchListNamespacedSecretAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct),
            "v1",
            "Secret",
            ct));

    public static readonly WatchedKind Services = new(
        "services",
        "Service",
        "v1",
        async (c, ns, ct) => Typed(
            ns is null
                ? await c.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: ct).ConfigureAwait(false)
                : await c.CoreV1.ListNamespacedServiceAsync(ns, cancellationToken: ct).ConfigureAwait(false),
            "v1",
            "Service"),
        (c, ns, rv, onError, ct) => Typed(
            ns is null
                ? c.CoreV1.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct)
                : c.CoreV1.WatchListNamespacedServiceAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct),
            "v1",
            "Service",
            ct));

    public static readonly WatchedKind EndpointSlices = new(
        "endpointslices",
        "EndpointSlice",
        "discovery.k8s.io/v1",
        async (c, ns, ct) => Typed(
            ns is null
                ? await c.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(cancellationToken: ct).ConfigureAwait(false)
                : await c.DiscoveryV1.ListNamespacedEndpointSliceAsync(ns, cancellationToken: ct).ConfigureAwait(false),
            "discovery.k8s.io/v1",
            "EndpointSlice"),
        (c, ns, rv, onError, ct) => Typed(
            ns is null
                ? c.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct)
                : c.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct),
            "discovery.k8s.io/v1",
            "EndpointSlice",
            ct));

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

    private static KubeList Typed<TList, TItem>(TList list, string apiVersion, string kind)
        where TList : IItems<TItem>, IMetadata<V1ListMeta>
        where TItem : IKubernetesObject =>
        new([.. list.Items.Select(item => WithKind(item, apiVersion, kind))], list.Metadata?.ResourceVersion ?? "");

    private static KubeList Typed(V1NamespaceList list, string apiVersion, string kind) => Typed<V1NamespaceList, V1Namespace>(list, apiVersion, kind);

    private static KubeList Typed(V1SecretList list, string apiVersion, string kind) => Typed<V1SecretList, V1Secret>(list, apiVersion, kind);

    private static KubeList Typed(V1ServiceList list, string apiVersion, string kind) => Typed<V1ServiceList, V1Service>(list, apiVersion, kind);

    private static KubeList Typed(V1EndpointSliceList list, string apiVersion, string kind) => Typed<V1EndpointSliceList, V1EndpointSlice>(list, apiVersion, kind);

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
