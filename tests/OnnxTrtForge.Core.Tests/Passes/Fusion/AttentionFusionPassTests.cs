using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

public sealed class AttentionFusionPassTests
{
    /// <summary>
    /// Attention in the head-split Einsum form the portable pipeline leaves: q = x·Wq, k = c·Wk, v = c·Wv
    /// reshaped to [B,·,N,H], Einsum(bihd,bjhd→bhij) · scale, Softmax, Einsum(bhij,bjhd→bihd), Reshape [B,S,N·H].
    /// Self attention when <paramref name="contextWidth"/> is null (k and v read x).
    /// </summary>
    internal static TinyModel Attention(long heads, long headSize, long seq, long? contextWidth = null, long contextSeq = 7, float? scale = null, long softmaxAxis = -1, int seed = 1)
    {
        var m = new TinyModel(13);
        var width = heads * headSize;
        var x = m.Input("x", DataType.Float, 2, seq, width);
        var c = contextWidth is { } cw ? m.Input("context", DataType.Float, 2, contextSeq, cw) : x;
        var l = contextWidth is null ? seq : contextSeq;
        var cWidth = contextWidth ?? width;
        Value Project(string name, Value input, long rows, long t, int s)
        {
            var w = m.Const(Weights([rows, width], s), name);
            var mm = m.Op("MatMul", [input, w]);
            Typed(mm, 2, t, width);
            var r = m.Op("Reshape", [mm.Outputs[0], m.Int64s(name + "_heads", 2, t, heads, headSize)]);
            return Typed(r, 2, t, heads, headSize);
        }

        var q = Project("wq", x, width, seq, seed);
        var k = Project("wk", c, cWidth, l, seed + 1);
        var v = Project("wv", c, cWidth, l, seed + 2);
        var scores = Typed(m.Op("Einsum", [q, k], Attribute.String("equation", "bihd,bjhd->bhij")), 2, heads, seq, l);
        var scaled = Typed(m.Op("Mul", [scores, m.Floats("scale", [], scale ?? (float)(1 / Math.Sqrt(headSize)))]), 2, heads, seq, l);
        var probs = Typed(m.Op("Softmax", [scaled], Attribute.Int("axis", softmaxAxis)), 2, heads, seq, l);
        var weighted = Typed(m.Op("Einsum", [probs, v], Attribute.String("equation", "bhij,bjhd->bihd")), 2, seq, heads, headSize);
        var merged = m.Op("Reshape", [weighted, m.Int64s("merged", 2, seq, width)]);
        m.Output(merged.Outputs[0], DataType.Float, 2, seq, width);
        return m;
    }

    /// <summary>Cross attention in the MatMul form: Q, V transposed (0,2,1,3), K (0,2,3,1), MatMul, Div by √H, Softmax, MatMul, Transpose back, Reshape.</summary>
    private static TinyModel MatMulAttention(long heads, long headSize, long seq, long contextWidth, long contextSeq)
    {
        var m = new TinyModel(13);
        var width = heads * headSize;
        var x = m.Input("x", DataType.Float, 2, seq, width);
        var c = m.Input("context", DataType.Float, 2, contextSeq, contextWidth);
        Value Heads(string name, Value input, long rows, long t, int s)
        {
            var mm = Typed(m.Op("MatMul", [input, m.Const(Weights([rows, width], s), name)]), 2, t, width);
            return Typed(m.Op("Reshape", [mm, m.Int64s(name + "_heads", 2, t, heads, headSize)]), 2, t, heads, headSize);
        }

        var q = Typed(m.Op("Transpose", [Heads("wq", x, width, seq, 1)], Attribute.IntList("perm", [0, 2, 1, 3])), 2, heads, seq, headSize);
        var k = Typed(m.Op("Transpose", [Heads("wk", c, contextWidth, contextSeq, 2)], Attribute.IntList("perm", [0, 2, 3, 1])), 2, heads, headSize, contextSeq);
        var v = Typed(m.Op("Transpose", [Heads("wv", c, contextWidth, contextSeq, 3)], Attribute.IntList("perm", [0, 2, 1, 3])), 2, heads, contextSeq, headSize);
        var scores = Typed(m.Op("MatMul", [q, k]), 2, heads, seq, contextSeq);
        var scaled = Typed(m.Op("Div", [scores, m.Floats("root", [], (float)Math.Sqrt(headSize))]), 2, heads, seq, contextSeq);
        var probs = Typed(m.Op("Softmax", [scaled], Attribute.Int("axis", -1)), 2, heads, seq, contextSeq);
        var weighted = Typed(m.Op("MatMul", [probs, v]), 2, heads, seq, headSize);
        var back = Typed(m.Op("Transpose", [weighted], Attribute.IntList("perm", [0, 2, 1, 3])), 2, seq, heads, headSize);
        var merged = m.Op("Reshape", [back, m.Int64s("merged", 2, seq, width)]);
        m.Output(merged.Outputs[0], DataType.Float, 2, seq, width);
        return m;
    }

    internal static Value Typed(Node node, params long[] dims)
    {
        node.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, dims);
        return node.Outputs[0];
    }

    internal static Tensor Weights(long[] dims, int seed)
    {
        var rng = new Random(seed);
        var n = (int)dims.Aggregate(1L, (a, b) => a * b);
        return Tensor.FromFloats(dims, Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * 0.6)).ToArray());
    }

    [Fact]
    public void Fuses_self_attention_with_five_heads_of_eight_into_multi_head_attention_over_packed_qkv()
    {
        var m = Attention(heads: 5, headSize: 8, seq: 6);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new AttentionFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["multi-head-attentions"]);
        Assert.Equal(["MatMul", "Reshape", "MultiHeadAttention"], m.Ops);
        var mha = m.Graph.Nodes[2];
        Assert.Equal(OrtCudaFusions.Domain, mha.Domain);
        Assert.Equal(5, mha.GetInt("num_heads", 0));
        Assert.False(mha.Attributes.ContainsKey("scale"));
        Assert.Single(mha.Inputs);
        Assert.Equal([2L, 6, 5, 3, 8], mha.Input(0)!.Type!.StaticDims!);
        Assert.Equal(1, m.Model.OpsetImports[OrtCudaFusions.Domain]);
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Fuses_cross_attention_with_eight_heads_into_multi_head_attention_over_packed_kv()
    {
        var m = Attention(heads: 8, headSize: 8, seq: 5, contextWidth: 24, contextSeq: 7);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new AttentionFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["multi-head-attentions"]);
        var mha = Assert.Single(m.Graph.Nodes, n => n.OpType == "MultiHeadAttention");
        Assert.Equal(8, mha.GetInt("num_heads", 0));
        Assert.Equal(2, mha.Inputs.Count);
        Assert.Equal([2L, 5, 64], mha.Input(0)!.Type!.StaticDims!);
        Assert.Equal([2L, 7, 8, 2, 8], mha.Input(1)!.Type!.StaticDims!);
        Assert.Equal(["MatMul", "MatMul", "MultiHeadAttention", "Reshape"], m.Ops.Order(StringComparer.Ordinal));
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Unpacked_fusion_with_a_custom_scale_runs_in_onnx_runtime_cpu_and_agrees_with_the_reference()
    {
        var m = Attention(heads: 4, headSize: 10, seq: 6, contextWidth: 12, contextSeq: 5, scale: 0.3f);
        var inputs = m.RandomInputs();

        var (result, before, after) = m.RunPass(new AttentionFusionPass(packWeights: false));

        Assert.Equal(1, result.Counters["multi-head-attentions"]);
        var mha = Assert.Single(m.Graph.Nodes, n => n.OpType == "MultiHeadAttention");
        Assert.Equal(3, mha.Inputs.Count);
        Assert.Equal(0.3f, mha.GetFloat("scale", 0), 6);
        TinyModel.AssertSame(before, after, 1e-5);
        TinyModel.AssertSame(after, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Fuses_the_matmul_form_of_cross_attention_with_eight_heads_of_five()
    {
        var m = MatMulAttention(heads: 8, headSize: 5, seq: 4, contextWidth: 12, contextSeq: 6);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new AttentionFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["multi-head-attentions"]);
        Assert.DoesNotContain("Transpose", m.Ops);
        Assert.DoesNotContain("Softmax", m.Ops);
        var mha = Assert.Single(m.Graph.Nodes, n => n.OpType == "MultiHeadAttention");
        Assert.Equal(2, mha.Inputs.Count);
        Assert.False(mha.Attributes.ContainsKey("scale"));
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Packed_weights_put_each_heads_q_k_v_columns_side_by_side_and_read_alike_as_span_stream_or_at_an_offset()
    {
        // 2 rows, 2 heads of 3: q = 0.., k = 100.., v = 200..
        var weights = Enumerable.Range(0, 3).Select(t => Tensor.FromFloats([2, 6], Enumerable.Range(0, 12).Select(i => (float)((100 * t) + i)).ToArray())).ToList();

        var packed = AttentionFusionPass.InterleaveHeads(weights, heads: 2, headSize: 3);

        Assert.Equal([2L, 18], packed.Dims);
        Assert.Equal([0.0, 1, 2, 100, 101, 102, 200, 201, 202, 3, 4, 5, 103, 104, 105, 203, 204, 205], packed.ToDoubleArray().Take(18));
        Assert.Equal(211.0, packed.ToDoubleArray()[^1]);
        using var stream = new MemoryStream();
        packed.Data.CopyTo(stream);
        Assert.Equal(packed.Data.Span.ToArray(), stream.ToArray());
        var middle = new byte[40];
        packed.Data.Read(52, middle);
        Assert.Equal(packed.Data.Span.Slice(52, 40).ToArray(), middle);
    }

    [Fact]
    public void Leaves_attention_whose_softmax_is_not_over_the_key_axis_unchanged_and_says_why()
    {
        var m = Attention(heads: 2, headSize: 4, seq: 3, softmaxAxis: 2);
        var ops = m.Ops.ToList();

        var result = new AttentionFusionPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(ops, m.Ops);
        Assert.Equal(0, result.Counters["multi-head-attentions"]);
        Assert.Equal(1, result.Counters["no match: softmax is not over the last axis"]);
        Assert.False(m.Model.OpsetImports.ContainsKey(OrtCudaFusions.Domain));
    }
}
