using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// YamlDotNet's event parser is iterative, but its representation model builds nodes recursively: a hostile
/// document nested ~100,000 levels deep (<c>[[[[...</c>, a few hundred kilobytes) overflows the stack and kills
/// the process, which no catch can stop. This wrapper counts the nesting as the events go by and fails the
/// document, as a syntax error, before the node builder gets that deep. Real resources nest about ten levels.
/// </summary>
internal sealed class DepthLimitedParser(IParser inner) : IParser
{
    public const int MaxDepth = 512;

    private int depth;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }

        switch (inner.Current)
        {
            case MappingStart or SequenceStart when ++depth > MaxDepth:
                throw new YamlException(inner.Current.Start, inner.Current.End,
                    $"nested more than {MaxDepth} levels deep (resources nest about ten)");
            case MappingEnd or SequenceEnd:
                depth--;
                break;
        }

        return true;
    }
}
