using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// Fuses group normalization, with the SiLU that usually follows, into com.microsoft <c>GroupNorm</c>
/// (CUDA only). Two forms are matched on x [N,C,H,W]:
/// <code>
/// Reshape [N,G,·] → InstanceNormalization(s, b) → Reshape [N,C,H,W] → [Mul γ] → [Add β]   (exporters)
/// InstanceNormalization(s, b) on x itself, G = C                                          (after simplify-group-norm)
/// </code>
/// optionally inside <c>Cast(float32) … Cast(float16)</c> (fp16 exports under autocast: the fused op reads
/// and writes float16 and normalizes in float32), optionally followed by <c>x·Sigmoid(x)</c>
/// (<c>activation=1</c>). γ' = s·γ and β' = b·γ + β per channel, float32 as the kernel requires.
/// The CUDA kernel is channels-last and needs an even channel count per group: when C/G is even, the
/// input is transposed to NHWC and back; when it is odd (one channel per group) but (C/G)·H·W is even and
/// at most 512, the NCHW tensor is read as channels-last [N,1,1,C·H·W] (each group is then a contiguous
/// run, γ and β repeat per pixel) and no transpose is needed; otherwise the norm is left as it is.
/// </summary>
public sealed class GroupNormFusionPass : IGraphPass
{
    /// <summary>The most channels per block of ORT's GroupNorm kernel.</summary>
    private const long MaxChannelsPerBlock = 512;

    public string Name => "fuse-group-norm";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var tally = new FusionTally("group-norms");
        foreach (var norm in graph.Nodes.Where(n => n.Is("InstanceNormalization")).ToList())
        {
            if (!ReferenceEquals(norm.Graph, graph))
            {
                continue;
            }

            var match = Match(graph, norm, out var reason);
            if (match is null)
            {
                tally.Rejected(reason);
                continue;
            }

            Rewrite(graph, match);
            tally.Matched();
        }

        return tally.Result(model);
    }

    private sealed record GroupNorm(Value Input, Value Output, List<Node> Chain, long[] Dims, long Groups, double[] Gamma, double[] Beta, float Epsilon, bool Silu, bool Flat);

    private static GroupNorm? Match(Graph graph, Node norm, out string reason)
    {
        reason = "";
        var chain = new List<Node> { norm };
        var scale = GraphEdits.SmallConstant(norm.Input(1));
        var bias = GraphEdits.SmallConstant(norm.Input(2));
        if (scale is not { IsReal: true } || bias is not { IsReal: true } || scale.Count != bias.Count)
        {
            reason = "instance norm scale or bias is not a constant";
            return null;
        }

        Value x;
        long groups;
        Value result;
        var normIn = norm.Input(0)!;
        if (normIn.Producer is { } reshapeIn && reshapeIn.Is("Reshape") && GraphEdits.StaticDims(normIn) is { Length: 3 } grouped)
        {
            // exporter form: [N,C,H,W] → [N,G,·] → norm → back
            x = reshapeIn.Input(0)!;
            groups = grouped[1];
            if (GraphEdits.SoleUser(graph, normIn) is null || GraphEdits.SoleUser(graph, norm.Outputs[0]) is not { } reshapeOut || !reshapeOut.Is("Reshape")
                || GraphEdits.StaticDims(x) is not { Length: 4 } xd0 || GraphEdits.StaticDims(reshapeOut.Outputs[0]) is not { } back || !back.SequenceEqual(xd0)
                || grouped[0] != xd0[0] || xd0[1] % groups != 0)
            {
                reason = "Reshape → InstanceNormalization → Reshape does not regroup a 4-D tensor and restore it";
                return null;
            }

            chain.Add(reshapeIn);
            chain.Add(reshapeOut);
            result = reshapeOut.Outputs[0];
        }
        else
        {
            x = normIn;
            groups = GraphEdits.StaticDims(x) is { Length: 4 } d ? d[1] : 0;
            result = norm.Outputs[0];
        }

        if (GraphEdits.StaticDims(x) is not { Length: 4 } xd)
        {
            reason = "input has no static 4-D shape";
            return null;
        }

        var channels = xd[1];
        if (scale.Count != groups)
        {
            reason = "instance norm scale does not have one value per group";
            return null;
        }

        var perGroup = channels / groups;
        var s = scale.AsDoubles();
        var b = bias.AsDoubles();
        var gamma = Enumerable.Range(0, (int)channels).Select(c => s[c / perGroup]).ToArray();
        var beta = Enumerable.Range(0, (int)channels).Select(c => b[c / perGroup]).ToArray();

        // optional per-channel affine
        if (GraphEdits.SoleUser(graph, result) is { } mul && mul.Is("Mul") && PerChannel(mul, result, xd) is { } g)
        {
            for (var c = 0; c < channels; c++)
            {
                gamma[c] *= g[c];
                beta[c] *= g[c];
            }

            chain.Add(mul);
            result = mul.Outputs[0];
            if (GraphEdits.SoleUser(graph, result) is { } add && add.Is("Add") && PerChannel(add, result, xd) is { } be)
            {
                for (var c = 0; c < channels; c++)
                {
                    beta[c] += be[c];
                }

                chain.Add(add);
                result = add.Outputs[0];
            }
        }

        // optional Cast(float32) … Cast(float16) around the norm: the fused op works on float16 directly
        var type = x.Type?.ElementType ?? DataType.Undefined;
        if (x.Producer is { } castIn && castIn.Is("Cast") && castIn.Input(0)?.Type?.ElementType == DataType.Float16 && type == DataType.Float
            && GraphEdits.SoleUser(graph, result) is { } castOut && castOut.Is("Cast") && castOut.GetInt("to", 0) == (long)DataType.Float16)
        {
            chain.Add(castOut);
            result = castOut.Outputs[0];
            x = castIn.Input(0)!;
            type = DataType.Float16;
        }

        if (type is not (DataType.Float or DataType.Float16) || result.Type?.ElementType != type)
        {
            reason = "input and output are not both float32 or both float16";
            return null;
        }

        // optional SiLU: result read by Sigmoid(result) and Mul(result, sigmoid) only
        var silu = false;
        if (result.Uses.Count == 2 && !graph.Outputs.Contains(result)
            && result.Uses.FirstOrDefault(u => u.Node.Is("Sigmoid")).Node is { } sigmoid && GraphEdits.SoleUser(graph, sigmoid.Outputs[0]) is { } swish
            && swish.Is("Mul") && result.Uses.Any(u => ReferenceEquals(u.Node, swish)) && swish.Inputs.Contains(sigmoid.Outputs[0]))
        {
            chain.Add(sigmoid);
            chain.Add(swish);
            result = swish.Outputs[0];
            silu = true;
        }

        if (chain.Any(n => n.Outputs.Any(o => o != result && graph.Outputs.Contains(o))))
        {
            reason = "an intermediate value of the norm is a graph output";
            return null;
        }

        var pixels = xd[2] * xd[3];
        var flat = perGroup % 2 != 0;
        if (perGroup % 2 == 0 ? perGroup > MaxChannelsPerBlock : (perGroup * pixels % 2 != 0 || perGroup * pixels > MaxChannelsPerBlock))
        {
            reason = "the CUDA GroupNorm kernel needs an even channel count per group (at most 512), or an even (C/G)·H·W of at most 512";
            return null;
        }

        return new GroupNorm(x, result, chain, xd, groups, gamma, beta, norm.GetFloat("epsilon", 1e-5f), silu, flat);
    }

    /// <summary>Per-channel values of the constant operand of a binary node whose other operand is <paramref name="data"/> [N,C,H,W].</summary>
    private static double[]? PerChannel(Node node, Value data, long[] xDims)
    {
        var other = ReferenceEquals(node.Input(0), data) ? node.Input(1) : ReferenceEquals(node.Input(1), data) ? node.Input(0) : null;
        if (GraphEdits.SmallConstant(other) is not { IsReal: true } c || c.Rank > 4)
        {
            return null;
        }

        // [C,1,1] or [1,C,1,1] (or a scalar): only axis 1 of the 4-D view may vary ([C] would broadcast along W)
        var padded = Enumerable.Repeat(1L, 4 - c.Rank).Concat(c.Dims).ToArray();
        if (padded[0] != 1 || padded[2] != 1 || padded[3] != 1 || (padded[1] != 1 && padded[1] != xDims[1]))
        {
            return null;
        }

        var values = c.AsDoubles();
        return Enumerable.Range(0, (int)xDims[1]).Select(k => values.Length == 1 ? values[0] : values[k]).ToArray();
    }

    private static void Rewrite(Graph graph, GroupNorm m)
    {
        var anchor = m.Output.Producer!;
        var (n, c, h, w) = (m.Dims[0], m.Dims[1], m.Dims[2], m.Dims[3]);
        var type = m.Input.Type!.ElementType;
        var repeat = m.Flat ? h * w : 1;
        var gamma = Enumerable.Range(0, (int)(c * repeat)).Select(i => m.Gamma[i / repeat]).ToArray();
        var beta = Enumerable.Range(0, (int)(c * repeat)).Select(i => m.Beta[i / repeat]).ToArray();
        var gammaValue = graph.AddInitializer(HostTensor.Real(DataType.Float, [gamma.Length], gamma).ToTensor(), graph.Names.Fresh("group_norm_gamma"));
        var betaValue = graph.AddInitializer(HostTensor.Real(DataType.Float, [beta.Length], beta).ToTensor(), graph.Names.Fresh("group_norm_beta"));

        long[] channelsLast = m.Flat ? [n, 1, 1, c * h * w] : [n, h, w, c];
        var input = m.Flat
            ? Reshape(graph, m.Input, channelsLast, anchor)
            : Transpose(graph, m.Input, [0, 2, 3, 1], channelsLast, anchor);
        var attributes = new[]
        {
            Attribute.Int("activation", m.Silu ? 1 : 0),
            Attribute.Int("channels_last", 1),
            Attribute.Float("epsilon", m.Epsilon),
            Attribute.Int("groups", m.Groups),
        };
        var fused = graph.Create("GroupNorm", [input, gammaValue, betaValue], attributes: attributes, anchor: anchor, domain: OrtCudaFusions.Domain, nameHint: "GroupNorm");
        fused.Outputs[0].Type = TypeInfo.OfTensor(type, channelsLast);
        var output = m.Flat
            ? Reshape(graph, fused.Outputs[0], m.Dims, anchor)
            : Transpose(graph, fused.Outputs[0], [0, 3, 1, 2], m.Dims, anchor);
        OrtCudaFusions.Replace(graph, m.Output, output);
        AttentionFusionPass.RemoveDead(graph, Enumerable.Reverse(m.Chain));
    }

    private static Value Reshape(Graph graph, Value input, long[] dims, Node anchor)
    {
        var shape = graph.AddInitializer(Tensor.FromInt64s([dims.Length], dims), graph.Names.Fresh("group_norm_shape"));
        var reshape = graph.Create("Reshape", [input, shape], anchor: anchor, nameHint: "GroupNormReshape");
        reshape.Outputs[0].Type = TypeInfo.OfTensor(input.Type!.ElementType, dims);
        return reshape.Outputs[0];
    }

    private static Value Transpose(Graph graph, Value input, long[] perm, long[] dims, Node anchor)
    {
        var transpose = graph.Create("Transpose", [input], attributes: [Attribute.IntList("perm", perm)], anchor: anchor, nameHint: "GroupNormTranspose");
        transpose.Outputs[0].Type = TypeInfo.OfTensor(input.Type!.ElementType, dims);
        return transpose.Outputs[0];
    }
}
