using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Stops three kinds of hostile YAML before YamlDotNet's representation model reaches them, by failing the
/// document as a syntax error:
/// <list type="bullet">
/// <item>deep nesting: the node builder is recursive, so a document nested ~100,000 levels deep
/// (<c>[[[[...</c>, a few hundred kilobytes) overflows the stack and kills the process, which no catch can stop;</item>
/// <item>collections (or aliases) as mapping keys: keys are hashed recursively through aliases, so a key that
/// aliases a "billion laughs" structure takes exponential time;</item>
/// <item>alias expansion: the representation model shares an aliased node, but every reader walks it again, so
/// a <c>kind: List</c> of a million <c>*item</c> aliases (4 MiB) becomes a million resources and their diagnostics.
/// Each document may have at most <see cref="MaxNodes"/> nodes counted as the readers see them: an alias counts as
/// the whole node it names, aliases inside it included, so nested aliases multiply as they would when read; and
/// a file at most <see cref="MaxFileNodes"/> (<paramref name="file"/> counts across its documents).</item>
/// </list>
/// Resources nest about ten levels, take about twenty nodes and only ever have string keys, so no limit touches
/// real input (docs/resource-model.md, "Limits").
/// </summary>
internal sealed class BoundedYamlParser(IParser inner, BoundedYamlParser.FileCount file) : IParser
{
    public const int MaxDepth = 512;

    /// <summary>Nodes of one document after alias expansion: some 5,000 resources.</summary>
    public const long MaxNodes = 100_000;

    /// <summary>Nodes of one file (all its documents, aliases expanded): some 50,000 resources.</summary>
    public const long MaxFileNodes = 1_000_000;

    /// <summary>The nodes of a file counted so far, shared by the parsers of its documents.</summary>
    public sealed class FileCount
    {
        public long Nodes { get; set; }
    }

    private const byte InSequence = 0, KeyNext = 1, ValueNext = 2;

    /// <summary>What the open collection at each depth expects next; index 0 is the document level.</summary>
    private readonly byte[] frames = new byte[MaxDepth + 1];

    /// <summary>The expanded size so far of the open collection at each depth, and its anchor.</summary>
    private readonly long[] sizes = new long[MaxDepth + 1];
    private readonly string?[] anchors = new string?[MaxDepth + 1];

    /// <summary>The expanded size of every anchored node of the document.</summary>
    private readonly Dictionary<string, long> anchored = new(StringComparer.Ordinal);
    private long nodes;
    private int depth;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }

        var current = inner.Current!;
        switch (current)
        {
            case DocumentStart:
                anchored.Clear();
                nodes = 0;
                break;
            case Scalar or AnchorAlias or MappingStart or SequenceStart:
                OnNode(current);
                break;
            case MappingEnd or SequenceEnd:
                var size = sizes[depth];
                if (anchors[depth] is { } anchor)
                {
                    anchored[anchor] = size;
                }

                depth--;
                sizes[depth] += size;
                break;
        }

        return true;
    }

    private void OnNode(ParsingEvent node)
    {
        if (depth > 0)
        {
            switch (frames[depth])
            {
                case KeyNext when node is not Scalar:
                    throw new YamlException(node.Start, node.End,
                        "a mapping key is a list, mapping or alias; resources only have plain keys, so this is not supported");
                case KeyNext:
                    frames[depth] = ValueNext;
                    break;
                case ValueNext:
                    frames[depth] = KeyNext;
                    break;
            }
        }

        // An unknown alias is YamlDotNet's error to report; it counts as one node here.
        var size = node is AnchorAlias alias ? anchored.GetValueOrDefault(alias.Value.Value, 1) : 1;
        nodes += size;
        if (nodes > MaxNodes)
        {
            throw new YamlException(node.Start, node.End,
                $"the document has more than {MaxNodes} nodes once its aliases (*name) are expanded (a resource takes about twenty); " +
                "write the resources out, or split them over several documents");
        }

        file.Nodes += size;
        if (file.Nodes > MaxFileNodes)
        {
            throw new YamlException(node.Start, node.End,
                $"the file has more than {MaxFileNodes} nodes (a resource takes about twenty); split it into several files");
        }

        if (node is MappingStart or SequenceStart)
        {
            if (depth == MaxDepth)
            {
                throw new YamlException(node.Start, node.End, $"nested more than {MaxDepth} levels deep (resources nest about ten)");
            }

            frames[++depth] = node is MappingStart ? KeyNext : InSequence;
            sizes[depth] = 1;
            anchors[depth] = ((NodeEvent)node).Anchor.IsEmpty ? null : ((NodeEvent)node).Anchor.Value;
            return;
        }

        sizes[depth] += size;
        if (node is Scalar { Anchor.IsEmpty: false } scalar)
        {
            anchored[scalar.Anchor.Value] = 1;
        }
    }
}
