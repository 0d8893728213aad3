using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// Turns each 2-D Conv with constant weights into com.microsoft <c>NhwcConv</c> (CUDA only) between
/// <c>Transpose(0,2,3,1)</c> and <c>Transpose(0,3,1,2)</c>, as ORT's fusion_nhwc_conv does: the weights
/// [M,C,kH,kW] are read through a <c>Transpose(0,2,3,1)</c> node that ONNX Runtime folds when it loads the
/// model (forge never copies large weights). On its own this adds layout work; <see cref="TransposeOptimizationPass"/>
/// then cancels the transposes between NhwcConv and the channels-last GroupNorms, so whole ResNet and
/// attention blocks stay NHWC.
/// </summary>
public sealed class NhwcConvFusionPass : IGraphPass
{
    public string Name => "fuse-nhwc-conv";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var tally = new FusionTally("nhwc-convs");
        foreach (var conv in graph.Nodes.Where(n => n.Is("Conv")).ToList())
        {
            var reason = Check(conv);
            if (reason is not null)
            {
                tally.Rejected(reason);
                continue;
            }

            Rewrite(graph, conv);
            tally.Matched();
        }

        return tally.Result(model);
    }

    private static string? Check(Node conv)
    {
        if (GraphEdits.StaticDims(conv.Input(0)) is not { Length: 4 } || GraphEdits.StaticDims(conv.Outputs[0]) is not { Length: 4 })
        {
            return "not a 2-D convolution with static shapes";
        }

        if (conv.Input(1) is not { IsInitializer: true, IsGraphInput: false } w || w.Initializer!.Dims.Length != 4)
        {
            return "weights are not a constant 4-D tensor";
        }

        if (conv.GetInt("group", 1) != 1)
        {
            return "grouped convolution";
        }

        if (conv.GetString("auto_pad", "NOTSET") != "NOTSET")
        {
            return "auto_pad is set";
        }

        return conv.Input(0)!.Type!.ElementType is DataType.Float or DataType.Float16 ? null : "not float32 or float16";
    }

    private static void Rewrite(Graph graph, Node conv)
    {
        var x = conv.Input(0)!;
        var w = conv.Input(1)!;
        var xd = GraphEdits.StaticDims(x)!;
        var yd = GraphEdits.StaticDims(conv.Outputs[0])!;
        var wd = w.Initializer!.Dims;
        var type = x.Type!.ElementType;
        var input = Transpose(graph, x, [0, 2, 3, 1], [xd[0], xd[2], xd[3], xd[1]], conv);
        var weights = Transpose(graph, w, [0, 2, 3, 1], [wd[0], wd[2], wd[3], wd[1]], conv);
        var attributes = conv.Attributes.Values.Where(a => a.Name != "auto_pad").ToList();
        Value?[] inputs = conv.Input(2) is { } bias ? [input, weights, bias] : [input, weights];
        var nhwc = graph.Create("NhwcConv", inputs, attributes: attributes, anchor: conv, domain: OrtCudaFusions.Domain, nameHint: "NhwcConv");
        nhwc.Outputs[0].Type = TypeInfo.OfTensor(type, [yd[0], yd[2], yd[3], yd[1]]);
        var back = Transpose(graph, nhwc.Outputs[0], [0, 3, 1, 2], yd, conv);
        OrtCudaFusions.Replace(graph, conv.Outputs[0], back);
        graph.Remove(conv);
    }

    private static Value Transpose(Graph graph, Value input, long[] perm, long[] dims, Node anchor)
    {
        var node = graph.Create("Transpose", [input], attributes: [Attribute.IntList("perm", perm)], anchor: anchor, nameHint: "NhwcTranspose");
        node.Outputs[0].Type = TypeInfo.OfTensor(input.Type!.ElementType, dims);
        return node.Outputs[0];
    }
}
