using System.Collections.Immutable;

namespace OrleansGateway.Sources.Kubernetes.Watching;

/// <summary>
/// The objects of one watched kind as last listed and watched. Every method answers whether the set changed in a way
/// that matters (an object added, removed, or with another <see cref="KubeObject.Fingerprint"/>); the latest version
/// of every object is kept either way, for its status. Thread-safe: watches write, the source reads.
/// </summary>
/// <param name="keep">Objects to keep (e.g. only Secrets that can hold TLS material); others are treated as absent.</param>
internal sealed class ObjectCache(Func<KubeObject, bool>? keep = null)
{
    private readonly Lock _lock = new();
    private Dictionary<(string Namespace, string Name), KubeObject> _items = [];

    /// <summary>Whether a list has filled the cache at least once (before that, absence means nothing).</summary>
    public bool Synced { get; private set; }

    /// <summary>Makes <paramref name="listed"/> the whole content (a fresh list): what is gone from it is deleted. The first list is always a change.</summary>
    public bool Replace(IEnumerable<KubeObject> listed)
    {
        var next = new Dictionary<(string, string), KubeObject>();
        foreach (var item in listed.Where(Keeps))
        {
            next[(item.Namespace, item.Name)] = item;
        }

        lock (_lock)
        {
            var changed = !Synced || next.Count != _items.Count
                || next.Any(p => !_items.TryGetValue(p.Key, out var before) || before.Fingerprint != p.Value.Fingerprint);
            _items = next;
            Synced = true;
            return changed;
        }
    }

    public bool Upsert(KubeObject item)
    {
        if (!Keeps(item))
        {
            return Remove(item.Namespace, item.Name);
        }

        lock (_lock)
        {
            var changed = !_items.TryGetValue((item.Namespace, item.Name), out var before) || before.Fingerprint != item.Fingerprint;
            _items[(item.Namespace, item.Name)] = item;
            return changed;
        }
    }

    public bool Remove(string ns, string name)
    {
        lock (_lock)
        {
            return _items.Remove((ns, name));
        }
    }

    public KubeObject? Get(string ns, string name)
    {
        lock (_lock)
        {
            return _items.GetValueOrDefault((ns, name));
        }
    }

    public ImmutableArray<KubeObject> Items()
    {
        lock (_lock)
        {
            return [.. _items.Values];
        }
    }

    private bool Keeps(KubeObject item) => keep?.Invoke(item) ?? true;
}
