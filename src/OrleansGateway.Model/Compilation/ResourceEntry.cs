using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// The compiler's running record for one input resource: its state and every message about it. Each resource
/// gets exactly one entry, so it ends with exactly one <see cref="ResourceStatus"/>; every message is also kept
/// as a <see cref="Diagnostic"/> so that callers that only read diagnostics miss nothing.
/// </summary>
internal sealed class ResourceEntry(Resource resource)
{
    private readonly List<string> _messages = [];
    private readonly List<Diagnostic> _diagnostics = [];

    public Resource Resource { get; } = resource;
    public ResourceRef Ref { get; } = resource.Ref;
    public ResourceState State { get; private set; } = ResourceState.Accepted;
    public bool IsAccepted => State == ResourceState.Accepted;

    /// <summary>Marks the resource Discarded (it stays so) with an error naming it.</summary>
    public void Discard(string code, string reason, string? field = null, ResourceRef? related = null)
    {
        if (State == ResourceState.Ignored)
        {
            return;
        }

        State = ResourceState.Discarded;
        Add(Severity.Error, code, $"{Ref} discarded: {reason}", field, related);
    }

    public void Warn(string code, string text, string? field = null, ResourceRef? related = null) =>
        Add(Severity.Warning, code, $"{Ref}: {text}", field, related);

    public void Note(string code, string text, string? field = null, ResourceRef? related = null) =>
        Add(Severity.Info, code, $"{Ref}: {text}", field, related);

    /// <summary>Ignored resources take no part in anything; the note says why.</summary>
    public void Ignore(string code, string text)
    {
        State = ResourceState.Ignored;
        Add(Severity.Info, code, $"{Ref} ignored: {text}", null, null);
    }

    /// <summary>
    /// Keeps a diagnostic produced elsewhere (the loader's reasons for an <see cref="InvalidResource"/>, its warnings).
    /// The status message names the field and its line, because the loader's own text only says what was expected.
    /// </summary>
    public void AddExisting(Diagnostic diagnostic)
    {
        var withResource = diagnostic with { Resource = diagnostic.Resource ?? Ref, Source = diagnostic.Source ?? Resource.Source };
        var field = withResource.Field is null || withResource.Message.Contains(withResource.Field, StringComparison.Ordinal)
            ? ""
            : $"{withResource.Field}: ";
        var line = withResource.Source is { } at ? $" (line {at.Line})" : "";
        var message = withResource.Severity == Severity.Error
            ? $"{Ref} discarded: {field}{withResource.Message}{line}"
            : $"{Ref}: {field}{withResource.Message}{line}";
        _messages.Add(message);
        _diagnostics.Add(withResource with { Message = message });
    }

    public void MarkDiscarded() => State = ResourceState.Discarded;

    public ResourceStatus ToStatus() => new(Ref, State, [.. _messages], Resource.Source);

    public IEnumerable<Diagnostic> Diagnostics => _diagnostics;

    private void Add(Severity severity, string code, string message, string? field, ResourceRef? related)
    {
        _messages.Add(message);
        _diagnostics.Add(new Diagnostic(severity, code, message, Ref, Resource.Source, field, related));
    }
}

/// <summary>The order in which "first" is decided everywhere: (kind, namespace, name), ordinal, then source.</summary>
internal static class ResourceOrder
{
    public static readonly IComparer<Resource> Comparer = Comparer<Resource>.Create(Compare);

    public static readonly IComparer<ResourceRef> RefComparer = Comparer<ResourceRef>.Create((a, b) =>
    {
        var c = string.CompareOrdinal(a.Kind, b.Kind);
        if (c != 0)
        {
            return c;
        }

        c = string.CompareOrdinal(a.Namespace, b.Namespace);
        return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
    });

    /// <summary>(namespace, name): the order of members inside one kind.</summary>
    public static int ByNamespaceAndName(Resource a, Resource b)
    {
        var c = string.CompareOrdinal(a.Namespace, b.Namespace);
        return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
    }

    private static int Compare(Resource? a, Resource? b)
    {
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : -1) : 1;
        }

        var c = string.CompareOrdinal(a.Kind, b.Kind);
        if (c != 0)
        {
            return c;
        }

        c = ByNamespaceAndName(a, b);
        if (c != 0)
        {
            return c;
        }

        // Same identity twice (two files define it): the source decides, so the order never depends on input order.
        c = string.CompareOrdinal(a.Source?.File, b.Source?.File);
        if (c != 0)
        {
            return c;
        }

        c = (a.Source?.DocumentIndex ?? -1).CompareTo(b.Source?.DocumentIndex ?? -1);
        return c != 0 ? c : (a.Source?.Line ?? -1).CompareTo(b.Source?.Line ?? -1);
    }

    public static ImmutableArray<ResourceRef> SortedDistinct(IEnumerable<ResourceRef> refs) =>
        [.. refs.Distinct().Order(RefComparer)];
}
