using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>Small rewiring helpers the simplification passes share (main graph only).</summary>
internal static class GraphEdits
{
    /// <summary>Initializers above this size are never read to decide a simplification.</summary>
    public const long MaxInspectBytes = 1 << 16;

    /// <summary>
    /// Makes every reader of <paramref name="output"/> read <paramref name="replacement"/> and removes
    /// <paramref name="node"/> once nothing reads it. Refuses (false) when the output is a graph output,
    /// whose name is the model's signature.
    /// </summary>
    public static bool Bypass(Graph graph, Node node, Value output, Value replacement)
    {
        if (graph.Outputs.Contains(output) || ReferenceEquals(output, replacement))
        {
            return false;
        }

        output.ReplaceAllUsesWith(replacement, graph);
        RemoveIfDead(graph, node);
        return true;
    }

    /// <summary>Removes the node when none of its outputs is read or is a graph output.</summary>
    public static bool RemoveIfDead(Graph graph, Node? node)
    {
        if (node is null || !ReferenceEquals(node.Graph, graph) || node.Outputs.Any(o => o.Uses.Count > 0 || graph.Outputs.Contains(o)))
        {
            return false;
        }

        graph.Remove(node);
        return true;
    }

    /// <summary>The small constant payload of a value (an initializer that is not an overridable input), else null.</summary>
    public static HostTensor? SmallConstant(Value? value) =>
        value?.Initializer is { } t && !value.IsGraphInput && t.ByteLength <= MaxInspectBytes ? HostTensor.FromTensor(t) : null;

    /// <summary>The only node reading <paramref name="value"/>, when it has exactly one use and is not a graph output.</summary>
    public static Node? SoleUser(Graph graph, Value value) =>
        value.Uses.Count == 1 && !graph.Outputs.Contains(value) ? value.Uses[0].Node : null;

    /// <summary>
    /// True when a nested graph (If/Loop/Scan body) returns a value of an enclosing graph directly. The
    /// simplifiers rewire main-graph values only through node inputs and main-graph outputs, so they
    /// leave such (rare) models alone rather than leave a subgraph output dangling.
    /// </summary>
    public static bool HasOuterSubgraphOutputs(Graph graph) =>
        GraphScope.All(graph).Skip(1).Any(g => g.Outputs.Any(v => !g.IsLocal(v)));

    /// <summary>The result a simplifier returns when <see cref="HasOuterSubgraphOutputs"/> holds.</summary>
    public static PassResult SkippedForSubgraphs { get; } = new(false) { Notes = ["skipped: a subgraph returns a value of an enclosing graph"] };

    /// <summary>
    /// True when broadcasting a tensor of <paramref name="constantDims"/> against <paramref name="value"/>
    /// cannot change the value's shape: its rank is known and not smaller, and every constant dim is 1 or
    /// equals the value's known dim there (unknown dims, such as a dynamic batch, are fine against 1).
    /// </summary>
    public static bool BroadcastKeepsShape(Value? value, long[] constantDims)
    {
        if (value is not { ShapeUnconfirmed: false, Type: { Kind: TypeKind.Tensor, Shape: { } shape } } || constantDims.Length > shape.Count)
        {
            return false;
        }

        var offset = shape.Count - constantDims.Length;
        for (var i = 0; i < constantDims.Length; i++)
        {
            if (constantDims[i] != 1 && shape[offset + i].Value != constantDims[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Every dim of a tensor value as a size; null when the rank or a dim is unknown, or when the dims are only what the
    /// file declared and inference has not computed them (<see cref="Value.ShapeUnconfirmed"/>): rewrites act on known
    /// shapes only, so a stale value_info never makes a real Reshape look like a no-op.
    /// </summary>
    public static long[]? StaticDims(Value? value) =>
        value is { ShapeUnconfirmed: false, Type.Kind: TypeKind.Tensor } ? value.Type.StaticDims : null;

    /// <summary>Every dim of a tensor value as a size or an expression over symbols; null when the rank or a dim is unknown or unconfirmed (as <see cref="StaticDims"/>).</summary>
    public static DimExpr[]? SymbolicDims(Value? value) =>
        value is { ShapeUnconfirmed: false, Type: { Kind: TypeKind.Tensor, Shape: { } shape } } && shape.All(d => d.AsExpr() is not null) ? shape.Select(d => d.AsExpr()!).ToArray() : null;
}
