using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class EinsumHeadSplitPassTests
{
    private const long B = 2, H = 3, S = 5, T = 4, D = 2;

    private static Value MergeHeads(TinyModel m, Value x, long seq, string name)
    {
        var split = m.Op("Reshape", [x, m.Int64s(name + "_split", B, seq, H, D)]);
        split.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [B, seq, H, D]);
        var t = m.Op("Transpose", [split.Outputs[0]], Attribute.IntList("perm", [0, 2, 1, 3]));
        t.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [B, H, seq, D]);
        var merged = m.Op("Reshape", [t.Outputs[0], m.Int64s(name + "_merge", B * H, seq, D)]);
        merged.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [B * H, seq, D]);
        return merged.Outputs[0];
    }

    /// <summary>Attention as the exporters write it (diffusers' CrossAttention), with softmax on the given axis.</summary>
    private static TinyModel Attention(long opset, long softmaxAxis, bool scaleFirst = false)
    {
        var m = new TinyModel(opset);
        var q = MergeHeads(m, m.Input("q", DataType.Float, B, S, H * D), S, "q");
        var k = MergeHeads(m, m.Input("k", DataType.Float, B, T, H * D), T, "k");
        var v = MergeHeads(m, m.Input("v", DataType.Float, B, T, H * D), T, "v");
        var scores = m.Op("Einsum", [q, k], Attribute.String("equation", "b i d, b j d -> b i j"));
        scores.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [B * H, S, T]);
        var scale = m.Floats("scale", [], 0.7f);
        var scaled = scaleFirst ? m.Op("Mul", [scale, scores.Outputs[0]]) : m.Op("Mul", [scores.Outputs[0], scale]);
        scaled.Outputs[0].Type = scores.Outputs[0].Type;
        var soft = m.Op("Softmax", [scaled.Outputs[0]], Attribute.Int("axis", softmaxAxis));
        soft.Outputs[0].Type = scores.Outputs[0].Type;
        var weighted = m.Op("Einsum", [soft.Outputs[0], v], Attribute.String("equation", "b i j, b j d -> b i d"));
        weighted.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [B * H, S, D]);
        var split = m.Op("Reshape", [weighted.Outputs[0], m.Int64s("o_split", B, H, S, D)]);
        split.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [B, H, S, D]);
        var back = m.Op("Transpose", [split.Outputs[0]], Attribute.IntList("perm", [0, 2, 1, 3]));
        back.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [B, S, H, D]);
        var merged = m.Op("Reshape", [back.Outputs[0], m.Int64s("o_merge", B, S, H * D)]);
        m.Output(merged.Outputs[0], DataType.Float, B, S, H * D);
        return m;
    }

    [Theory]
    [InlineData(12, 2, false)]
    [InlineData(13, -1, false)]
    [InlineData(13, 2, true)]
    public void Lets_both_einsums_read_the_heads_in_place_and_drops_eight_layout_nodes(long opset, long softmaxAxis, bool scaleFirst)
    {
        var m = Attention(opset, softmaxAxis, scaleFirst);

        var (result, before, after) = m.RunPass(new EinsumHeadSplitPass());

        Assert.Equal(1, result.Counters["attentions"]);
        Assert.Equal(8, result.Counters["layout-nodes-removed"]);
        Assert.Equal(["Reshape", "Reshape", "Reshape", "Einsum", "Mul", "Softmax", "Einsum", "Reshape"], m.Ops);
        Assert.Equal("bihd,bjhd->bhij", m.Graph.Nodes[3].GetString("equation", ""));
        Assert.Equal("bhij,bjhd->bihd", m.Graph.Nodes[6].GetString("equation", ""));
        TinyModel.AssertSame(before, after, 1e-6);
    }

    [Fact]
    public void Leaves_attention_alone_when_the_softmax_runs_over_another_axis()
    {
        var m = Attention(13, 1);

        Assert.False(new EinsumHeadSplitPass().Run(m.Model).Modified);
        Assert.Equal(16, m.Ops.Count);
    }
}
