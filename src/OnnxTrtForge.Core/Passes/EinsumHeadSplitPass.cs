using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Inference;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Multi-head attention as exporters write it merges the heads into the batch before each Einsum:
/// <c>Reshape [B,S,H,D] → Transpose(0,2,1,3) → Reshape [B·H,S,D]</c> for Q, K and V, then
/// <c>Einsum(bid,bjd→bij)</c>, row-wise ops (scale, Softmax over the last axis, Casts),
/// <c>Einsum(bij,bjd→bid)</c>, and back: <c>Reshape [B,H,S,D] → Transpose(0,2,1,3)</c>. The Einsums can
/// read the heads where they are instead: <c>Einsum(bihd,bjhd→bhij)</c> and <c>Einsum(bhij,bjhd→bihd)</c>
/// compute the same dot products, and eight layout nodes per attention go. Row-wise ops between the
/// Einsums see the same rows, in a [B,H,S,S] instead of a [B·H,S,S] tensor.
/// </summary>
public sealed class EinsumHeadSplitPass : IGraphPass
{
    public string Name => "split-heads-into-einsum";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var opset = model.OnnxOpset;
        long rewritten = 0, removed = 0;
        foreach (var second in graph.Nodes.Where(n => n.Is("Einsum")).ToList())
        {
            if (ReferenceEquals(second.Graph, graph) && TryRewrite(graph, second, opset, out var dropped))
            {
                rewritten++;
                removed += dropped;
            }
        }

        return new PassResult(rewritten > 0)
        {
            Counters = new Dictionary<string, long> { ["attentions"] = rewritten, ["layout-nodes-removed"] = removed },
        };
    }

    /// <summary>A head-merged operand: Reshape(Transpose(x4 [B,S,H,D], 0,2,1,3), [B·H,S,D]).</summary>
    private sealed record Merged(Value Heads, Node Transpose, Node Reshape, DimExpr B, DimExpr H, DimExpr S, DimExpr D);

    private static Merged? MatchMerged(Value? value)
    {
        if (value?.Producer is not { } reshape || !reshape.Is("Reshape") || GraphEdits.SymbolicDims(value) is not { Length: 3 } merged
            || reshape.Input(0)?.Producer is not { } transpose || !transpose.Is("Transpose")
            || transpose.GetInts("perm") is not { } perm || !perm.SequenceEqual([0L, 2, 1, 3])
            || transpose.Input(0) is not { } heads || GraphEdits.SymbolicDims(heads) is not { Length: 4 } x)
        {
            return null;
        }

        return DimExpr.Multiply(x[0], x[2]) == merged[0] && x[1] == merged[1] && x[3] == merged[2] ? new Merged(heads, transpose, reshape, x[0], x[2], x[1], x[3]) : null;
    }

    /// <summary>True for the equations "xyz,xwz->xyw" (scores) or "xyw,xwz->xyz" (weighted values), letters free.</summary>
    private static bool IsBatchedContraction(string equation, bool scores)
    {
        if (ShapeInference.ParseEinsum(equation) is not { Inputs: [var a, var b], Output: var o } || a.Length != 3 || b.Length != 3 || o.Length != 3
            || a.Distinct().Count() != 3 || b.Distinct().Count() != 3)
        {
            return false;
        }

        return scores
            ? b[0] == a[0] && b[2] == a[2] && b[1] != a[1] && b[1] != a[0] && b[1] != a[2] && o == $"{a[0]}{a[1]}{b[1]}"
            : b[0] == a[0] && b[1] == a[2] && b[2] != a[1] && b[2] != a[0] && b[2] != a[2] && o == $"{a[0]}{a[1]}{b[2]}";
    }

    private static bool TryRewrite(Graph graph, Node second, long opset, out int dropped)
    {
        dropped = 0;
        if (!IsBatchedContraction(second.GetString("equation", ""), scores: false) || MatchMerged(second.Input(1)) is not { } v)
        {
            return false;
        }

        // Walk back from the weights to the scores Einsum through row-wise ops, each read only by the next.
        var rowOps = new List<Node>();
        var current = second.Input(0);
        Node? first = null;
        while (current?.Producer is { } producer && GraphEdits.SoleUser(graph, current) is not null)
        {
            if (producer.Is("Einsum"))
            {
                first = producer;
                break;
            }

            var data = RowWiseDataInput(producer, opset, current);
            if (data < 0)
            {
                return false;
            }

            rowOps.Add(producer);
            current = producer.Input(data);
        }

        if (first is null || !IsBatchedContraction(first.GetString("equation", ""), scores: true)
            || MatchMerged(first.Input(0)) is not { } q || MatchMerged(first.Input(1)) is not { } k
            || q.B != k.B || q.H != k.H || q.D != k.D || v.B != q.B || v.H != q.H || v.S != k.S)
        {
            return false;
        }

        // The weighted values go back: Reshape [B,H,S,D] then Transpose(0,2,1,3), read by nothing else.
        var measuring = new List<Node>();
        if (SoleDataUser(graph, second.Outputs[0], measuring) is not { } split || !split.Is("Reshape")
            || GraphEdits.SymbolicDims(split.Outputs[0]) is not { } splitDims || !splitDims.SequenceEqual([q.B, q.H, q.S, v.D])
            || GraphEdits.SoleUser(graph, split.Outputs[0]) is not { } back || !back.Is("Transpose")
            || back.GetInts("perm") is not { } backPerm || !backPerm.SequenceEqual([0L, 2, 1, 3]) || graph.Outputs.Contains(back.Outputs[0]))
        {
            return false;
        }

        var scoreType = first.Outputs[0].Type!.ElementType;
        first.SetInput(0, q.Heads);
        first.SetInput(1, k.Heads);
        first.Attributes["equation"] = Attribute.String("equation", "bihd,bjhd->bhij");
        first.Outputs[0].Type = TypeInfo.OfTensor(scoreType, new[] { q.B, q.H, q.S, k.S }.Select(Dim.Of).ToArray());
        foreach (var op in Enumerable.Reverse(rowOps))
        {
            op.Outputs[0].Type = TypeInfo.OfTensor(op.Outputs[0].Type!.ElementType, new[] { q.B, q.H, q.S, k.S }.Select(Dim.Of).ToArray());
            if (op.Is("Softmax"))
            {
                op.Attributes["axis"] = Attribute.Int("axis", opset >= 13 ? -1 : 3);
            }
        }

        second.SetInput(1, v.Heads);
        second.Attributes["equation"] = Attribute.String("equation", "bhij,bjhd->bihd");
        second.Outputs[0].Type = back.Outputs[0].Type;
        back.Outputs[0].ReplaceAllUsesWith(second.Outputs[0], graph);
        foreach (var node in new[] { back, split, q.Reshape, q.Transpose, k.Reshape, k.Transpose, v.Reshape, v.Transpose })
        {
            if (GraphEdits.RemoveIfDead(graph, node))
            {
                dropped++;
            }
        }

        // what measured the merged output for the split's target is dead with the split (from the end)
        var removedAny = true;
        while (removedAny)
        {
            removedAny = false;
            for (var i = measuring.Count - 1; i >= 0; i--)
            {
                if (ReferenceEquals(measuring[i].Graph, graph) && GraphEdits.RemoveIfDead(graph, measuring[i]))
                {
                    removedAny = true;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// The one node that reads <paramref name="value"/> as data, when every other reader only measures it
    /// for that node's shape argument (Shape → Gather/Concat/... → its input 1, as dynamic-shape exports
    /// compute a Reshape target). Those measuring nodes are collected, in order, into <paramref name="measuring"/>.
    /// </summary>
    private static Node? SoleDataUser(Graph graph, Value value, List<Node> measuring)
    {
        if (graph.Outputs.Contains(value))
        {
            return null;
        }

        var readers = value.Uses.Select(u => u.Node).Where(n => !n.Is("Shape")).Distinct().ToList();
        if (readers.Count != 1)
        {
            return null;
        }

        var reader = readers[0];
        foreach (var shape in value.Uses.Select(u => u.Node).Where(n => n.Is("Shape")).Distinct())
        {
            measuring.Add(shape);
            if (!OnlyFeeds(graph, shape.Outputs[0], reader, measuring, 8))
            {
                return null;
            }
        }

        return reader;
    }

    private static bool OnlyFeeds(Graph graph, Value value, Node target, List<Node> visited, int depth)
    {
        if (depth == 0 || graph.Outputs.Contains(value) || value.Uses.Count == 0)
        {
            return false;
        }

        foreach (var use in value.Uses)
        {
            if (ReferenceEquals(use.Node, target) && use.Index == 1)
            {
                continue;
            }

            if (!visited.Contains(use.Node))
            {
                visited.Add(use.Node);
            }

            if (!use.Node.Outputs.All(o => OnlyFeeds(graph, o, target, visited, depth - 1)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// For ops that act on each row of the scores alike (Softmax over the last axis, Casts, arithmetic
    /// with a scalar constant), the index of the input that carries the scores; -1 for any other op.
    /// </summary>
    private static int RowWiseDataInput(Node node, long opset, Value output)
    {
        if (output.ShapeUnconfirmed || output.Type?.Shape?.Count != 3 || !node.IsOnnxDomain)
        {
            return -1;
        }

        switch (node.OpType)
        {
            case "Cast":
                return 0;
            case "Softmax":
                var axis = node.GetInt("axis", opset >= 13 ? -1 : 1);
                return axis is 2 or -1 ? 0 : -1;
            case "Mul" or "Div" or "Add" or "Sub" when node.Inputs.Count == 2:
                if (IsScalar(node.Input(1)))
                {
                    return 0;
                }

                return node.OpType is "Mul" or "Add" && IsScalar(node.Input(0)) ? 1 : -1;
            default:
                return -1;
        }
    }

    private static bool IsScalar(Value? value) => GraphEdits.SmallConstant(value) is { Count: 1 } c && c.Rank <= 1;
}
