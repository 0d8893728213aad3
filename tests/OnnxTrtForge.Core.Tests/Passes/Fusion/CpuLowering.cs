using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

/// <summary>
/// A second, independent writing of the contrib-op contracts: each CUDA-only node of a fused model is
/// replaced by standard ops that compute what ORT's documentation says it computes (packed attention is
/// unpacked for ORT's CPU MultiHeadAttention), so a whole fused UNet runs in one ONNX Runtime CPU session.
/// </summary>
internal static class CpuLowering
{
    public static void Lower(Model model)
    {
        var graph = model.Graph;
        foreach (var node in graph.Nodes.Where(n => n.Domain == OrtCudaFusions.Domain || n.Is("LayerNormalization")).ToList())
        {
            if (node.OpType is "SkipLayerNormalization" or "LayerNormalization")
            {
                LayerNorm(graph, node);
                continue;
            }

            if (node.OpType == "SkipGroupNorm")
            {
                SkipGroupNorm(graph, node);
                continue;
            }

            // computed in float32 (ORT's CPU kernels), cast back to the node's type
            var inputs = node.Inputs.Select(v => v?.Type?.ElementType == DataType.Float16 ? Cast(graph, node, v, DataType.Float) : v).ToList();
            var output = node.OpType switch
            {
                "NhwcConv" => NhwcConv(graph, node, inputs),
                "GroupNorm" => GroupNorm(graph, node, inputs),
                "MultiHeadAttention" => MultiHeadAttention(graph, node, inputs),
                "BiasSplitGelu" => BiasSplitGelu(graph, node, inputs),
                _ => throw new NotSupportedException(node.QualifiedOpType),
            };
            var type = node.Outputs[0].Type!.ElementType;
            OrtCudaFusions.Replace(graph, node.Outputs[0], type == DataType.Float ? output : Cast(graph, node, output, type));
            graph.Remove(node);
        }

        graph.SortTopologically();
    }

    private static Value Op(Graph graph, Node anchor, string op, Value?[] inputs, long[] dims, DataType type, params Attribute[] attributes)
    {
        var node = graph.Create(op, inputs, attributes: attributes, anchor: anchor);
        node.Outputs[0].Type = TypeInfo.OfTensor(type, dims);
        return node.Outputs[0];
    }

    /// <summary>SkipGroupNorm as Add (broadcasting the skip) then a GroupNorm node, lowered in turn; the sum is the second output.</summary>
    private static void SkipGroupNorm(Graph graph, Node node)
    {
        var sum = Op(graph, node, "Add", [node.Input(0), node.Input(3)], node.Input(0)!.Type!.StaticDims!, node.Input(0)!.Type!.ElementType);
        var norm = graph.Create("GroupNorm", [sum, node.Input(1), node.Input(2)], attributes: [.. node.Attributes.Values], anchor: node, domain: OrtCudaFusions.Domain);
        norm.Outputs[0].Type = node.Outputs[0].Type;
        var inputs = norm.Inputs.Select(v => v?.Type?.ElementType == DataType.Float16 ? Cast(graph, norm, v, DataType.Float) : v).ToList();
        var lowered = GroupNorm(graph, norm, inputs);
        var type = node.Outputs[0].Type!.ElementType;
        OrtCudaFusions.Replace(graph, node.Outputs[0], type == DataType.Float ? lowered : Cast(graph, norm, lowered, type));
        if (node.Outputs.Count > 1)
        {
            OrtCudaFusions.Replace(graph, node.Outputs[1], sum);
        }

        graph.Remove(node);
        graph.Remove(norm);
    }

    /// <summary>ORT's CPU kernel of the same norm, in float32 (its float16 support varies by version).</summary>
    private static void LayerNorm(Graph graph, Node node)
    {
        var type = node.Outputs[0].Type!.ElementType;
        if (type == DataType.Float)
        {
            return;
        }

        var inputs = node.Inputs.Select(v => v?.Type?.ElementType == DataType.Float16 ? Cast(graph, node, v, DataType.Float) : v).ToList();
        var names = node.Outputs.Select(o => o.Uses.Count > 0 || graph.Outputs.Contains(o) ? graph.Names.Fresh("lowered") : "").ToArray();
        var lowered = new Node(node.Domain, node.OpType, inputs, names, node.Attributes.Values, graph.Names.Fresh("lowered_norm"));
        graph.InsertBefore(node, lowered);
        for (var i = 0; i < names.Length; i++)
        {
            if (names[i].Length > 0)
            {
                lowered.Outputs[i].Type = TypeInfo.OfTensor(DataType.Float, node.Outputs[i].Type!.StaticDims!);
                OrtCudaFusions.Replace(graph, node.Outputs[i], Cast(graph, node, lowered.Outputs[i], type));
            }
        }

        graph.Remove(node);
    }

    private static Value Cast(Graph graph, Node anchor, Value x, DataType type) =>
        Op(graph, anchor, "Cast", [x], x.Type!.StaticDims!, type, Attribute.Int("to", (long)type));

    private static Value Transpose(Graph graph, Node anchor, Value x, params long[] perm)
    {
        var d = x.Type!.StaticDims!;
        return Op(graph, anchor, "Transpose", [x], perm.Select(p => d[p]).ToArray(), x.Type.ElementType, Attribute.IntList("perm", perm));
    }

    private static Value Shape(Graph graph, params long[] dims) => graph.AddInitializer(Tensor.FromInt64s([dims.Length], dims), graph.Names.Fresh("lowered_shape"));

    private static Value NhwcConv(Graph graph, Node node, List<Value?> inputs)
    {
        var x = Transpose(graph, node, inputs[0]!, 0, 3, 1, 2);
        var w = Transpose(graph, node, inputs[1]!, 0, 3, 1, 2);
        var y = node.Outputs[0].Type!.StaticDims!;
        var conv = Op(graph, node, "Conv", [x, w, inputs.Count > 2 ? inputs[2] : null], [y[0], y[3], y[1], y[2]], DataType.Float, [.. node.Attributes.Values]);
        return Transpose(graph, node, conv, 0, 2, 3, 1);
    }

    /// <summary>NHWC GroupNorm as NCHW Reshape → InstanceNormalization → Reshape → γ, β → SiLU, in float32.</summary>
    private static Value GroupNorm(Graph graph, Node node, List<Value?> inputs)
    {
        var d = inputs[0]!.Type!.StaticDims!;
        var (n, h, w, c) = (d[0], d[1], d[2], d[3]);
        var groups = node.GetInt("groups", 0);
        var x = Transpose(graph, node, inputs[0]!, 0, 3, 1, 2);

        var grouped = Op(graph, node, "Reshape", [x, Shape(graph, n, groups, -1)], [n, groups, c / groups * h * w], DataType.Float);
        var ones = graph.AddInitializer(Tensor.FromFloats([groups], Enumerable.Repeat(1f, (int)groups).ToArray()), graph.Names.Fresh("ones"));
        var zeros = graph.AddInitializer(Tensor.FromFloats([groups], new float[groups]), graph.Names.Fresh("zeros"));
        var norm = Op(graph, node, "InstanceNormalization", [grouped, ones, zeros], [n, groups, c / groups * h * w], DataType.Float, Attribute.Float("epsilon", node.GetFloat("epsilon", 1e-5f)));
        var back = Op(graph, node, "Reshape", [norm, Shape(graph, n, c, h, w)], [n, c, h, w], DataType.Float);
        var gamma = Op(graph, node, "Reshape", [inputs[1], Shape(graph, c, 1, 1)], [c, 1, 1], DataType.Float);
        var beta = Op(graph, node, "Reshape", [inputs[2], Shape(graph, c, 1, 1)], [c, 1, 1], DataType.Float);
        var y = Op(graph, node, "Add", [Op(graph, node, "Mul", [back, gamma], [n, c, h, w], DataType.Float), beta], [n, c, h, w], DataType.Float);
        if (node.GetInt("activation", 0) == 1)
        {
            y = Op(graph, node, "Mul", [y, Op(graph, node, "Sigmoid", [y], [n, c, h, w], DataType.Float)], [n, c, h, w], DataType.Float);
        }

        return Transpose(graph, node, y, 0, 2, 3, 1);
    }

    /// <summary>x + bias, halves a and g of the last axis, a · g · 0.5 · (1 + erf(g/√2)).</summary>
    private static Value BiasSplitGelu(Graph graph, Node node, List<Value?> inputs)
    {
        var d = inputs[0]!.Type!.StaticDims!;
        var half = new[] { d[0], d[1], d[2] / 2 };
        var sum = Op(graph, node, "Add", [inputs[0], inputs[1]], d, DataType.Float);
        var split = graph.Create("Split", [sum], 2, [Attribute.Int("axis", 2)], anchor: node);
        split.Outputs[0].Type = split.Outputs[1].Type = TypeInfo.OfTensor(DataType.Float, half);
        var g = split.Outputs[1];
        Value C(float v) => graph.AddInitializer(Tensor.FromFloats([], [v]), graph.Names.Fresh("c"));
        var erf = Op(graph, node, "Erf", [Op(graph, node, "Mul", [g, C((float)(1 / Math.Sqrt(2)))], half, DataType.Float)], half, DataType.Float);
        var gelu = Op(graph, node, "Mul", [Op(graph, node, "Mul", [g, C(0.5f)], half, DataType.Float), Op(graph, node, "Add", [erf, C(1f)], half, DataType.Float)], half, DataType.Float);
        return Op(graph, node, "Mul", [split.Outputs[0], gelu], half, DataType.Float);
    }

    /// <summary>Packed QKV [B,S,N,3,H] or packed KV [B,L,N,2,H] sliced into [B,·,N·H] operands of ORT's CPU MultiHeadAttention.</summary>
    private static Value MultiHeadAttention(Graph graph, Node node, List<Value?> inputs)
    {
        if (inputs.Count == 1)
        {
            inputs = [.. Unpack(graph, node, inputs[0]!, 3)];
        }
        else if (inputs.Count == 2)
        {
            inputs = [inputs[0], .. Unpack(graph, node, inputs[1]!, 2)];
        }

        var mha = graph.Create("MultiHeadAttention", inputs, attributes: [.. node.Attributes.Values], anchor: node, domain: OrtCudaFusions.Domain);
        mha.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, node.Outputs[0].Type!.StaticDims!);
        return mha.Outputs[0];
    }

    private static IEnumerable<Value> Unpack(Graph graph, Node anchor, Value packed, long k)
    {
        var d = packed.Type!.StaticDims!;
        var (b, t, n, h) = (d[0], d[1], d[2], d[4]);
        for (long slot = 0; slot < k; slot++)
        {
            var slice = Op(graph, anchor, "Slice", [packed, Shape(graph, slot), Shape(graph, slot + 1), Shape(graph, 3)], [b, t, n, 1, h], DataType.Float);
            yield return Op(graph, anchor, "Reshape", [slice, Shape(graph, b, t, n * h)], [b, t, n * h], DataType.Float);
        }
    }
}
