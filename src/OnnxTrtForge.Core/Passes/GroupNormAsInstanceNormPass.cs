using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Exporters write GroupNorm as Reshape [N,G,-1] → InstanceNormalization → Reshape back → Mul γ → Add β.
/// When the group count equals the channel count, each group is one channel, so the whole chain is one
/// InstanceNormalization on the original tensor with scale s·γ and bias b·γ+β (s, b: the InstanceNorm's
/// own per-group scale and bias). Within fp32 rounding; exact when s = 1 and b = 0, as exporters emit.
/// The batch and spatial dims may be symbolic; the channel count must be a size.
/// <para>
/// With several channels per group and two or more symbolic spatial dims (a dynamic height and width),
/// the norm stays but is regrouped: x [N,C,H,W] → [N,G,(C/G)·H,W] (target [0,G,-1,0]) instead of
/// [N,G,(C/G)·H·W]. InstanceNormalization normalizes each (n, g) over all its trailing dims, so how they
/// are split does not matter, and the Reshape back to x's shape becomes the constant [0,C,-1,0]
/// (fold-symbolic-shapes), where [N,G,-1] needs Shape(x) at run time. Exact for every value of the symbols.
/// </para>
/// </summary>
public sealed class GroupNormAsInstanceNormPass : IGraphPass
{
    public string Name => "simplify-group-norm";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        long fused = 0, affine = 0, regrouped = 0;
        foreach (var norm in graph.Nodes.Where(n => n.Is("InstanceNormalization")).ToList())
        {
            if (TryFuse(graph, norm, out var withAffine))
            {
                fused++;
                affine += withAffine;
            }
            else if (TryRegroup(graph, norm))
            {
                regrouped++;
            }
        }

        return new PassResult(fused + regrouped > 0)
        {
            Counters = new Dictionary<string, long> { ["group-norms"] = fused, ["affine-folded"] = affine, ["regrouped-keeping-trailing-dims"] = regrouped },
        };
    }

    private static bool TryFuse(Graph graph, Node norm, out int affineFolded)
    {
        affineFolded = 0;
        var reshapeIn = norm.Input(0)?.Producer;
        if (reshapeIn is null || !reshapeIn.Is("Reshape") || GraphEdits.SoleUser(graph, norm.Input(0)!) is null)
        {
            return false;
        }

        var x = reshapeIn.Input(0)!;
        var xDims = GraphEdits.SymbolicDims(x);
        var grouped = GraphEdits.SymbolicDims(norm.Input(0));
        if (xDims is null || grouped is null || xDims.Length < 3 || grouped.Length != 3 || grouped[0] != xDims[0] || grouped[1] != xDims[1] || xDims[1].Constant is not { } channelCount)
        {
            return false;
        }

        var scale = GraphEdits.SmallConstant(norm.Input(1));
        var bias = GraphEdits.SmallConstant(norm.Input(2));
        var normOut = norm.Outputs[0];
        if (scale is null || bias is null || !scale.IsReal || GraphEdits.SoleUser(graph, normOut) is not { } reshapeOut || !reshapeOut.Is("Reshape")
            || GraphEdits.SymbolicDims(reshapeOut.Outputs[0]) is not { } back || !back.SequenceEqual(xDims))
        {
            return false;
        }

        var channels = (int)channelCount;
        if (scale.Count != channels || bias.Count != channels || scale.Type != x.Type?.ElementType)
        {
            return false;
        }

        var s = scale.AsDoubles();
        var b = bias.AsDoubles();
        var result = reshapeOut.Outputs[0];
        var last = reshapeOut;
        var chain = new List<Node> { reshapeIn, norm, reshapeOut };

        // Optional per-channel affine: Mul by γ then Add β, each [C,1,...] (or broadcast-equivalent) constants.
        if (GraphEdits.SoleUser(graph, result) is { } mul && mul.Is("Mul") && PerChannel(graph, mul, result, channels, xDims) is { } gamma)
        {
            for (var c = 0; c < channels; c++)
            {
                s[c] *= gamma[c];
                b[c] *= gamma[c];
            }

            last = mul;
            chain.Add(mul);
            affineFolded = 1;
            if (GraphEdits.SoleUser(graph, mul.Outputs[0]) is { } add && add.Is("Add") && PerChannel(graph, add, mul.Outputs[0], channels, xDims) is { } beta)
            {
                for (var c = 0; c < channels; c++)
                {
                    b[c] += beta[c];
                }

                last = add;
            }
        }

        var type = scale.Type;
        var newScale = graph.AddInitializer(HostTensor.Real(type, [channels], s).ToTensor(), graph.Names.Fresh("group_norm_scale"));
        var newBias = graph.AddInitializer(HostTensor.Real(type, [channels], b).ToTensor(), graph.Names.Fresh("group_norm_bias"));
        var attributes = norm.Attributes.Values.ToList();
        var fused = graph.Create("InstanceNormalization", [x, newScale, newBias], attributes: attributes, anchor: norm);
        fused.Outputs[0].Type = last.Outputs[0].Type;
        if (!GraphEdits.Bypass(graph, last, last.Outputs[0], fused.Outputs[0]))
        {
            graph.Remove(fused);
            graph.RemoveInitializer(newScale);
            graph.RemoveInitializer(newBias);
            affineFolded = 0;
            return false;
        }

        // The chain (Add ← Mul ← Reshape ← InstanceNorm ← Reshape) is dead now, from the end.
        chain.Reverse();
        foreach (var node in chain)
        {
            GraphEdits.RemoveIfDead(graph, node);
        }

        return true;
    }

    /// <summary>
    /// Reshape(x [N,C,D1,...,Dk], [N,G,-1]) → InstanceNormalization → read only by Reshapes becomes
    /// Reshape(x, [0,G,-1,0,...,0]) keeping D2..Dk, when at least two of D1..Dk are symbolic (otherwise the
    /// Reshape back is a constant already). The norm sees the same elements per (n, g) in the same order.
    /// </summary>
    private static bool TryRegroup(Graph graph, Node norm)
    {
        if (norm.Input(0) is not { Producer: { } reshapeIn } grouped || !reshapeIn.Is("Reshape") || reshapeIn.GetInt("allowzero", 0) != 0
            || GraphEdits.SoleUser(graph, grouped) is null || reshapeIn.Input(0) is not { } x
            || GraphEdits.SymbolicDims(x) is not { Length: >= 4 } xDims || GraphEdits.SymbolicDims(grouped) is not { Length: 3 } groupedDims
            || groupedDims[0] != xDims[0] || xDims[1].Constant is not { } channels || groupedDims[1].Constant is not { } groups
            || groups <= 0 || channels % groups != 0 || xDims.Skip(2).Count(d => !d.IsConstant) < 2)
        {
            return false;
        }

        // the norm's output changes rank: only Reshapes (which read the elements in order, whatever the dims) may read
        // it, and only with targets that copy no dim past the group axis (a 0 there would copy another dim now)
        var normOut = norm.Outputs[0];
        if (graph.Outputs.Contains(normOut) || normOut.Uses.Count == 0 || normOut.Uses.Any(u => !u.Node.Is("Reshape") || u.Index != 0 || !KeepsMeaning(u.Node)))
        {
            return false;
        }

        if (DimExpr.Multiply(DimExpr.Const(channels / groups), xDims[2]) is not { } merged)
        {
            return false;
        }

        var target = new long[xDims.Length];
        target[1] = groups;
        target[2] = -1;
        reshapeIn.SetInput(1, graph.AddInitializer(Tensor.FromInt64s([target.Length], target), graph.Names.Fresh("group_norm_shape")));
        var dims = new[] { xDims[0], groupedDims[1], merged }.Concat(xDims.Skip(3)).Select(d => Dim.Of(d)).ToArray();
        grouped.Type = TypeInfo.OfTensor(grouped.Type!.ElementType, dims);
        normOut.Type = TypeInfo.OfTensor(normOut.Type?.ElementType ?? grouped.Type.ElementType, dims);
        return true;
    }

    /// <summary>
    /// True when a Reshape reading the regrouped norm gives the same result as before: no allowzero, and a
    /// target that is the Shape of a tensor (sizes) or a constant whose 0s (copies) sit on the batch or group axis.
    /// </summary>
    private static bool KeepsMeaning(Node reader) =>
        reader.GetInt("allowzero", 0) == 0
        && ((reader.Input(1)?.Producer is { } producer && producer.Is("Shape") && producer.Attributes.Count == 0)
            || (GraphEdits.SmallConstant(reader.Input(1)) is { } target && target.AsLongs().Skip(2).All(v => v != 0)));

    /// <summary>The per-channel values of the constant operand of a binary node whose other operand is <paramref name="data"/>.</summary>
    private static double[]? PerChannel(Graph graph, Node node, Value data, int channels, DimExpr[] xDims)
    {
        var other = ReferenceEquals(node.Input(0), data) ? node.Input(1) : ReferenceEquals(node.Input(1), data) ? node.Input(0) : null;
        var c = GraphEdits.SmallConstant(other);
        if (c is null || !c.IsReal || c.Type != data.Type?.ElementType || graph.Outputs.Contains(node.Outputs[0]))
        {
            return null;
        }

        // Must broadcast against x without changing its shape (dims 1, or the channel count on axis 1), and vary only along axis 1.
        if (c.Rank > xDims.Length)
        {
            return null;
        }

        var offset = xDims.Length - c.Rank;
        for (var i = 0; i < c.Rank; i++)
        {
            if (c.Dims[i] != 1 && (i + offset != 1 || c.Dims[i] != channels))
            {
                return null;
            }
        }

        var values = c.AsDoubles();
        var channelAxis = 1 - offset;
        return Enumerable.Range(0, channels).Select(k => channelAxis >= 0 && c.Dims[channelAxis] == channels ? values[k] : values[0]).ToArray();
    }
}
