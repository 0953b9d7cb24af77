using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Stops two kinds of hostile YAML before YamlDotNet's representation model reaches them, by failing the
/// document as a syntax error:
/// <list type="bullet">
/// <item>deep nesting: the node builder is recursive, so a document nested ~100,000 levels deep
/// (<c>[[[[...</c>, a few hundred kilobytes) overflows the stack and kills the process, which no catch can stop;</item>
/// <item>collections (or aliases) as mapping keys: keys are hashed recursively through aliases, so a key that
/// aliases a "billion laughs" structure takes exponential time.</item>
/// </list>
/// Resources nest about ten levels and only ever have string keys, so neither limit touches real input.
/// </summary>
internal sealed class DepthLimitedParser(IParser inner) : IParser
{
    public const int MaxDepth = 512;

    private const byte InSequence = 0, KeyNext = 1, ValueNext = 2;

    /// <summary>What the open collection at each depth expects next; index 0 is the document level.</summary>
    private readonly byte[] frames = new byte[MaxDepth + 1];
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
            case Scalar or AnchorAlias or MappingStart or SequenceStart:
                OnNode(current);
                break;
            case MappingEnd or SequenceEnd:
                depth--;
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

        if (node is MappingStart or SequenceStart)
        {
            if (depth == MaxDepth)
            {
                throw new YamlException(node.Start, node.End, $"nested more than {MaxDepth} levels deep (resources nest about ten)");
            }

            frames[++depth] = node is MappingStart ? KeyNext : InSequence;
        }
    }
}
