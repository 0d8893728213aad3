using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// Fuses the GEGLU feed-forward input of the transformer blocks into com.microsoft <c>BiasSplitGelu</c>
/// (CUDA only): <c>h = MatMul(x, W) + bias</c>, <c>a, g = Split(h, 2, last axis)</c>, <c>a · gelu(g)</c>
/// with the exact gelu <c>g · 0.5 · (1 + erf(g / √2))</c> in any order of its products (TorchScript
/// and dynamo exports differ) becomes <c>BiasSplitGelu(MatMul(x, W), bias)</c>. ORT's kernel takes hidden
/// sizes 2560, 5120 and 10240 only (SD v1.x: 4 · 2 · 320/640/1280); other sizes are left as they are.
/// </summary>
public sealed class BiasSplitGeluFusionPass : IGraphPass
{
    private static readonly long[] KernelWidths = [2560, 5120, 10240];

    public string Name => "fuse-bias-split-gelu";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var tally = new FusionTally("bias-split-gelus");
        foreach (var split in graph.Nodes.Where(n => n.Is("Split")).ToList())
        {
            if (!ReferenceEquals(split.Graph, graph))
            {
                continue;
            }

            var reason = TryFuse(graph, split, model.OnnxOpset);
            if (reason is null)
            {
                tally.Matched();
            }
            else
            {
                tally.Rejected(reason);
            }
        }

        return tally.Result(model);
    }

    private static string? TryFuse(Graph graph, Node split, long opset)
    {
        var h = split.Input(0)!;
        if (split.Outputs.Count != 2 || GraphEdits.StaticDims(h) is not { Length: 3 } dims || !HalvesLastAxis(split, dims, opset))
        {
            return "Split does not cut a 3-D tensor into two halves of its last axis";
        }

        if (h.Producer is not { } biasAdd || !biasAdd.Is("Add") || GraphEdits.SoleUser(graph, h) is null || BiasOperand(biasAdd, dims[2]) is not var (data, bias))
        {
            return "split input is not MatMul + bias read by the Split only";
        }

        var (left, gate) = (split.Outputs[0], split.Outputs[1]);
        if (GraphEdits.SoleUser(graph, left) is not { } last || !last.Is("Mul"))
        {
            return "first half is not multiplied by the gelu of the second";
        }

        // the products under the last Mul: a, g, 0.5 and (1 + erf(g/√2)), through Muls read by nothing else
        var leaves = new List<Value>();
        var chain = new List<Node>();
        Flatten(graph, last, leaves, chain, root: true);
        var erfTerm = leaves.FirstOrDefault(v => ErfTerm(graph, v, gate, chain));
        if (leaves.Count != 4 || !leaves.Contains(left) || !leaves.Contains(gate) || erfTerm is null
            || !leaves.Any(v => Scalar(v) is { } half && Math.Abs(half - 0.5) < 1e-3) || gate.Uses.Count != 2 || graph.Outputs.Contains(gate))
        {
            return "second half does not go through the exact (erf) gelu";
        }

        if (Array.IndexOf(KernelWidths, dims[2]) < 0)
        {
            return "hidden size is not one of 2560, 5120, 10240 (ORT's CUDA BiasSplitGelu kernel)";
        }

        var fused = graph.Create("BiasSplitGelu", [data, bias], anchor: last, domain: OrtCudaFusions.Domain, nameHint: "BiasSplitGelu");
        fused.Outputs[0].Type = last.Outputs[0].Type;
        OrtCudaFusions.Replace(graph, last.Outputs[0], fused.Outputs[0]);
        AttentionFusionPass.RemoveDead(graph, [.. chain, last, split, biasAdd]);
        return null;
    }

    private static bool HalvesLastAxis(Node split, long[] dims, long opset)
    {
        var axis = split.GetInt("axis", 0);
        if (axis != 2 && axis != -1)
        {
            return false;
        }

        var sizes = opset >= 13 ? GraphEdits.SmallConstant(split.Input(1))?.AsLongs() : split.GetInts("split")?.ToArray();
        return dims[2] % 2 == 0 && (sizes is null || (sizes.Length == 2 && sizes[0] == dims[2] / 2 && sizes[1] == dims[2] / 2));
    }

    private static (Value Data, Value Bias)? BiasOperand(Node add, long width)
    {
        foreach (var (data, constant) in new[] { (add.Input(0), add.Input(1)), (add.Input(1), add.Input(0)) })
        {
            if (data?.Producer is { } p && p.Is("MatMul") && constant is { IsInitializer: true, IsGraphInput: false } && constant.Initializer!.Dims is [var w] && w == width)
            {
                return (data, constant);
            }
        }

        return null;
    }

    /// <summary>Collects the operands of a tree of Muls (inner Muls read by their parent only).</summary>
    private static void Flatten(Graph graph, Node mul, List<Value> leaves, List<Node> chain, bool root)
    {
        if (!root)
        {
            chain.Add(mul);
        }

        foreach (var input in mul.Inputs)
        {
            if (input?.Producer is { } p && p.Is("Mul") && GraphEdits.SoleUser(graph, input) is not null && leaves.Count < 8)
            {
                Flatten(graph, p, leaves, chain, root: false);
            }
            else if (input is not null)
            {
                leaves.Add(input);
            }
        }
    }

    /// <summary>True for <c>1 + erf(g/√2)</c> (or <c>erf(g·(1/√2)) + 1</c>); its nodes join the chain.</summary>
    private static bool ErfTerm(Graph graph, Value value, Value gate, List<Node> chain)
    {
        if (value.Producer is not { } add || !add.Is("Add") || GraphEdits.SoleUser(graph, value) is null)
        {
            return false;
        }

        var erfOut = Scalar(add.Input(1)) is { } one && Math.Abs(one - 1) < 1e-6 ? add.Input(0) : Scalar(add.Input(0)) is { } one0 && Math.Abs(one0 - 1) < 1e-6 ? add.Input(1) : null;
        if (erfOut?.Producer is not { } erf || !erf.Is("Erf") || GraphEdits.SoleUser(graph, erfOut) is null
            || erf.Input(0)?.Producer is not { } scale || GraphEdits.SoleUser(graph, erf.Input(0)!) is null || !ReferenceEquals(scale.Input(0), gate))
        {
            return false;
        }

        var factor = scale.Is("Div") && Scalar(scale.Input(1)) is { } d ? 1 / d : scale.Is("Mul") && Scalar(scale.Input(1)) is { } m ? m : double.NaN;
        if (Math.Abs(factor - (1 / Math.Sqrt(2))) > 1e-3)
        {
            return false;
        }

        chain.AddRange([add, erf, scale]);
        return true;
    }

    private static double? Scalar(Value? value) => GraphEdits.SmallConstant(value) is { Count: 1, IsReal: true } c ? c.RealAt(0) : null;
}
