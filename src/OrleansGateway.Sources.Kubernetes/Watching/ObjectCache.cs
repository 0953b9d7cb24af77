using System.Collections.Immutable;

namespace OrleansGateway.Sources.Kubernetes.Watching;

/// <summary>One object that changed in a way that matters: added (<see cref="Before"/> null), removed (<see cref="After"/> null) or with another fingerprint.</summary>
internal sealed record ObjectChange(KubeObject? Before, KubeObject? After)
{
    /// <summary>The object's namespace (empty for a cluster-scoped object); a change never moves an object between namespaces.</summary>
    public string Namespace => (After ?? Before)!.Namespace;

    public string Name => (After ?? Before)!.Name;
}

/// <summary>
/// The objects of one watched kind as last listed and watched, by namespace. Every method answers what changed in a way
/// that matters (an object added, removed, or with another <see cref="KubeObject.Fingerprint"/>), so that readers
/// re-evaluate only what a change touched; the latest version of every object is kept either way, for its status.
/// Thread-safe: watches write, the source reads.
/// </summary>
/// <param name="keep">Objects to keep (e.g. only Secrets that can hold TLS material); others are treated as absent.</param>
internal sealed class ObjectCache(Func<KubeObject, bool>? keep = null)
{
    private readonly Lock _lock = new();
    private Dictionary<string, Dictionary<string, KubeObject>> _items = new(StringComparer.Ordinal);

    /// <summary>Whether a list has filled the cache at least once (before that, absence means nothing).</summary>
    public bool Synced { get; private set; }

    /// <summary>
    /// Makes <paramref name="listed"/> the whole content (a fresh list): what is gone from it is deleted. Answers every
    /// change against what the cache held (deletions included); null when nothing changed. The first list is always a
    /// change, even an empty one (the cache becomes <see cref="Synced"/>).
    /// </summary>
    public IReadOnlyList<ObjectChange>? Replace(IEnumerable<KubeObject> listed)
    {
        var next = new Dictionary<string, Dictionary<string, KubeObject>>(StringComparer.Ordinal);
        foreach (var item in listed.Where(Keeps))
        {
            if (!next.TryGetValue(item.Namespace, out var names))
            {
                next[item.Namespace] = names = new Dictionary<string, KubeObject>(StringComparer.Ordinal);
            }

            names[item.Name] = item;
        }

        lock (_lock)
        {
            var changes = new List<ObjectChange>();
            foreach (var item in next.Values.SelectMany(n => n.Values))
            {
                var before = Find(_items, item.Namespace, item.Name);
                if (before is null || before.Fingerprint != item.Fingerprint)
                {
                    changes.Add(new ObjectChange(before, item));
                }
            }

            changes.AddRange(_items.Values.SelectMany(n => n.Values).Where(o => Find(next, o.Namespace, o.Name) is null).Select(o => new ObjectChange(o, null)));
            var first = !Synced;
            _items = next;
            Synced = true;
            return changes.Count > 0 || first ? changes : null;
        }
    }

    /// <summary>Stores <paramref name="item"/>; the change when it matters, else null.</summary>
    public ObjectChange? Upsert(KubeObject item)
    {
        if (!Keeps(item))
        {
            return Remove(item.Namespace, item.Name);
        }

        lock (_lock)
        {
            if (!_items.TryGetValue(item.Namespace, out var names))
            {
                _items[item.Namespace] = names = new Dictionary<string, KubeObject>(StringComparer.Ordinal);
            }

            var before = names.GetValueOrDefault(item.Name);
            names[item.Name] = item;
            return before is null || before.Fingerprint != item.Fingerprint ? new ObjectChange(before, item) : null;
        }
    }

    public ObjectChange? Remove(string ns, string name)
    {
        lock (_lock)
        {
            if (!_items.TryGetValue(ns, out var names) || !names.Remove(name, out var before))
            {
                return null;
            }

            if (names.Count == 0)
            {
                _items.Remove(ns);
            }

            return new ObjectChange(before, null);
        }
    }

    public KubeObject? Get(string ns, string name)
    {
        lock (_lock)
        {
            return Find(_items, ns, name);
        }
    }

    public ImmutableArray<KubeObject> Items()
    {
        lock (_lock)
        {
            return [.. _items.Values.SelectMany(n => n.Values)];
        }
    }

    /// <summary>The objects of one namespace: what a change there makes the source look at again.</summary>
    public ImmutableArray<KubeObject> Items(string ns)
    {
        lock (_lock)
        {
            return _items.TryGetValue(ns, out var names) ? [.. names.Values] : [];
        }
    }

    /// <summary>The namespaces that hold objects.</summary>
    public ImmutableArray<string> Namespaces()
    {
        lock (_lock)
        {
            return [.. _items.Keys];
        }
    }

    private static KubeObject? Find(Dictionary<string, Dictionary<string, KubeObject>> items, string ns, string name) =>
        items.TryGetValue(ns, out var names) ? names.GetValueOrDefault(name) : null;

    private bool Keeps(KubeObject item) => keep?.Invoke(item) ?? true;
}
