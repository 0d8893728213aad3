using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Shortens layout chains: a reshape-like op (Reshape, Unsqueeze, Squeeze, Flatten) whose result has
/// the input's static shape goes; two in a row become one (Unsqueeze∘Unsqueeze stays an Unsqueeze, the
/// rest a Reshape to the static result shape; two Unsqueezes merge by their axes alone, so also over
/// symbolic dims); Transpose∘Transpose becomes one Transpose of the composed
/// permutation, and an identity permutation goes. Pure data movement, so bit-exact.
/// </summary>
public sealed class ReshapeChainPass : IGraphPass
{
    private static readonly HashSet<string> ReshapeLike = ["Reshape", "Unsqueeze", "Squeeze", "Flatten"];

    public string Name => "simplify-reshape-transpose";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var opset = model.OnnxOpset;
        long noop = 0, reshapes = 0, transposes = 0;
        foreach (var node in graph.Nodes.ToList())
        {
            if (!ReferenceEquals(node.Graph, graph) || !node.IsOnnxDomain || node.Input(0) is not { } input)
            {
                continue;
            }

            var output = node.Outputs[0];
            if (ReshapeLike.Contains(node.OpType))
            {
                var inDims = GraphEdits.StaticDims(input);
                var outDims = GraphEdits.StaticDims(output);
                if (inDims is not null && outDims is not null && inDims.SequenceEqual(outDims) && GraphEdits.Bypass(graph, node, output, input))
                {
                    noop++;
                }
                else if (outDims is not null && input.Producer is { } inner && inner.IsOnnxDomain && ReshapeLike.Contains(inner.OpType)
                    && inner.Input(0) is { } source && GraphEdits.SoleUser(graph, input) is not null && MergeReshapes(graph, inner, node, source, outDims, opset))
                {
                    reshapes++;
                }
                else if (node.OpType == "Unsqueeze" && input.Producer is { } first && first.Is("Unsqueeze") && first.Input(0) is { } origin
                    && GraphEdits.SoleUser(graph, input) is not null && ComposedUnsqueezeAxes(first, node, origin, opset) is { } axes
                    && Replace(graph, node, first, "Unsqueeze", origin, axes, opset))
                {
                    reshapes++;
                }
            }
            else if (node.OpType == "Transpose")
            {
                var perm = Permutation(node, input);
                if (perm is null)
                {
                    continue;
                }

                if (IsIdentity(perm) && GraphEdits.Bypass(graph, node, output, input))
                {
                    transposes++;
                }
                else if (MovesOnlyUnitAxes(perm, GraphEdits.StaticDims(input)) && GraphEdits.StaticDims(output) is { } outDims && NextToReshape(graph, node))
                {
                    // Moving only size-1 axes keeps the element order: the Transpose is a Reshape, which then merges.
                    node.OpType = "Reshape";
                    node.Attributes.Remove("perm");
                    node.AddInput(graph.AddInitializer(HostTensor.Int64s(outDims).ToTensor(), graph.Names.Fresh("reshape_shape")));
                    transposes++;
                }
                else if (input.Producer is { } inner && inner.Is("Transpose") && inner.Input(0) is { } source && GraphEdits.SoleUser(graph, input) is not null
                    && Permutation(inner, source) is { } first)
                {
                    // out[i] = mid[perm[i]] = src[first[perm[i]]]
                    var composed = perm.Select(p => first[p]).ToArray();
                    if (IsIdentity(composed))
                    {
                        if (GraphEdits.Bypass(graph, node, output, source))
                        {
                            GraphEdits.RemoveIfDead(graph, inner);
                            transposes += 2;
                        }
                    }
                    else
                    {
                        node.SetInput(0, source);
                        node.Attributes["perm"] = Attribute.IntList("perm", composed);
                        GraphEdits.RemoveIfDead(graph, inner);
                        transposes++;
                    }
                }
            }
        }

        return new PassResult(noop + reshapes + transposes > 0)
        {
            Counters = new Dictionary<string, long> { ["no-op-reshapes"] = noop, ["reshapes-merged"] = reshapes, ["transposes"] = transposes },
        };
    }

    private static bool MergeReshapes(Graph graph, Node inner, Node outer, Value source, long[] outDims, long opset)
    {
        if (inner.OpType == "Unsqueeze" && outer.OpType == "Unsqueeze" && GraphEdits.StaticDims(source) is { } srcDims)
        {
            // Positions of size-1 dims inserted by the two steps, read off the static shapes.
            var axes = InsertedAxes(srcDims, outDims);
            if (axes is not null)
            {
                return Replace(graph, outer, inner, "Unsqueeze", source, axes, opset);
            }
        }

        var shape = graph.AddInitializer(HostTensor.Int64s(outDims).ToTensor(), graph.Names.Fresh("reshape_shape"));
        var reshape = graph.Create("Reshape", [source, shape], anchor: outer);
        reshape.Outputs[0].Type = outer.Outputs[0].Type;
        if (!GraphEdits.Bypass(graph, outer, outer.Outputs[0], reshape.Outputs[0]))
        {
            graph.Remove(reshape);
            graph.RemoveInitializer(shape);
            return false;
        }

        GraphEdits.RemoveIfDead(graph, inner);
        return true;
    }

    private static bool Replace(Graph graph, Node outer, Node inner, string op, Value source, long[] axes, long opset)
    {
        Node merged;
        if (opset >= 13)
        {
            var axesValue = graph.AddInitializer(HostTensor.Int64s(axes).ToTensor(), graph.Names.Fresh("unsqueeze_axes"));
            merged = graph.Create(op, [source, axesValue], anchor: outer);
        }
        else
        {
            merged = graph.Create(op, [source], attributes: [Attribute.IntList("axes", axes)], anchor: outer);
        }

        merged.Outputs[0].Type = outer.Outputs[0].Type;
        if (!GraphEdits.Bypass(graph, outer, outer.Outputs[0], merged.Outputs[0]))
        {
            graph.Remove(merged);
            return false;
        }

        GraphEdits.RemoveIfDead(graph, inner);
        return true;
    }

    /// <summary>
    /// The axes of one Unsqueeze doing Unsqueeze(Unsqueeze(x, a1), a2), from the axes and x's rank alone:
    /// a2 (normalized to the final rank) plus, for each axis of a1 (normalized to the middle rank), the
    /// final position of that middle axis. Null when an axes list or the rank is unknown or invalid.
    /// </summary>
    private static long[]? ComposedUnsqueezeAxes(Node inner, Node outer, Value source, long opset)
    {
        if (source is not { ShapeUnconfirmed: false, Type.Shape: { } shape })
        {
            return null;
        }

        long[]? Constant(Node node, int i) => GraphEdits.SmallConstant(node.Input(i)) is { } t && t.Type == DataType.Int64 ? t.AsLongs() : null;
        var a1 = OpArguments.SqueezeAxes(inner, opset, i => Constant(inner, i)).Values;
        var a2 = OpArguments.SqueezeAxes(outer, opset, i => Constant(outer, i)).Values;
        var middle = shape.Count + (a1?.Length ?? 0);
        var final = middle + (a2?.Length ?? 0);
        if (a1 is not { Length: > 0 } || a2 is not { Length: > 0 } || Normalize(a1, middle) is not { } first || Normalize(a2, final) is not { } second)
        {
            return null;
        }

        // the final positions not inserted by the outer Unsqueeze hold the middle axes, in order
        var kept = Enumerable.Range(0, final).Where(i => !second.Contains(i)).ToArray();
        return second.Concat(first.Select(a => (long)kept[a])).Order().ToArray();
    }

    /// <summary>Axes in [-rank, rank) as sorted non-negative positions; null when one is out of range or repeated.</summary>
    private static long[]? Normalize(long[] axes, int rank)
    {
        var result = axes.Select(a => a < 0 ? a + rank : a).Order().ToArray();
        return result.Any(a => a < 0 || a >= rank) || result.Distinct().Count() != result.Length ? null : result;
    }

    /// <summary>The output axes that are inserted 1s when <paramref name="result"/> is <paramref name="source"/> with 1s added; null when it is not.</summary>
    private static long[]? InsertedAxes(long[] source, long[] result)
    {
        var axes = new List<long>();
        var k = 0;
        for (var i = 0; i < result.Length; i++)
        {
            if (k < source.Length && result[i] == source[k])
            {
                k++;
            }
            else if (result[i] == 1)
            {
                axes.Add(i);
            }
            else
            {
                return null;
            }
        }

        return k == source.Length && axes.Count == result.Length - source.Length ? axes.ToArray() : null;
    }

    private static long[]? Permutation(Node node, Value input)
    {
        var rank = input.ShapeUnconfirmed ? null : input.Type?.Shape?.Count;
        var perm = node.GetInts("perm")?.ToArray();
        if (perm is null)
        {
            return rank is { } r ? Enumerable.Range(0, r).Reverse().Select(i => (long)i).ToArray() : null;
        }

        return perm;
    }

    /// <summary>True when the permutation keeps the relative order of every axis longer than 1.</summary>
    private static bool MovesOnlyUnitAxes(long[] perm, long[]? dims)
    {
        if (dims is null || perm.Length != dims.Length)
        {
            return false;
        }

        var order = perm.Where(p => dims[p] != 1).ToList();
        return order.SequenceEqual(order.Order());
    }

    /// <summary>True when the node's input comes from, or its output goes only to, a reshape-like op it can merge with.</summary>
    private static bool NextToReshape(Graph graph, Node node) =>
        (node.Input(0)?.Producer is { } p && p.IsOnnxDomain && ReshapeLike.Contains(p.OpType) && GraphEdits.SoleUser(graph, node.Input(0)!) is not null)
        || (GraphEdits.SoleUser(graph, node.Outputs[0]) is { } u && u.IsOnnxDomain && ReshapeLike.Contains(u.OpType));

    private static bool IsIdentity(long[] perm) => perm.Select((p, i) => p == i).All(b => b);
}
