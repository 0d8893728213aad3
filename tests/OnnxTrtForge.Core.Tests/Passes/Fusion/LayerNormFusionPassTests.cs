using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

public sealed class LayerNormFusionPassTests
{
    /// <summary>
    /// h [2,6,W] (+ MatMul(a, w) + bias when <paramref name="residual"/>) → layer norm over W (the opset 12
    /// decomposition, or LayerNormalization at opset 17) → γ, β → output; the residual sum is also added to
    /// the norm's result (as the next residual Add of a transformer block reads it).
    /// </summary>
    private static TinyModel Norm(long width, bool residual, long opset = 12, long axis = -1)
    {
        var m = new TinyModel(opset);
        long[] dims = [2, 6, width];
        var h = m.Input("h", DataType.Float, dims);
        var x = h;
        if (residual)
        {
            var a = m.Input("a", DataType.Float, dims);
            var mm = AttentionFusionPassTests.Typed(m.Op("MatMul", [a, m.Const(AttentionFusionPassTests.Weights([width, width], 8), "w")]), dims);
            var biased = AttentionFusionPassTests.Typed(m.Op("Add", [m.Const(AttentionFusionPassTests.Weights([width], 9), "bias"), mm]), dims);
            x = AttentionFusionPassTests.Typed(m.Op("Add", [biased, h]), dims);
        }

        var gamma = m.Const(AttentionFusionPassTests.Weights([width], 10), "gamma");
        var beta = m.Const(AttentionFusionPassTests.Weights([width], 11), "beta");
        Value y;
        if (opset >= 17)
        {
            y = AttentionFusionPassTests.Typed(m.Op("LayerNormalization", [x, gamma, beta], Attribute.Int("axis", axis), Attribute.Float("epsilon", 1e-5f)), dims);
        }
        else
        {
            long[] reduced = [2, 6, 1];
            var mean = AttentionFusionPassTests.Typed(m.Op("ReduceMean", [x], Attribute.IntList("axes", [axis])), reduced);
            var sub = AttentionFusionPassTests.Typed(m.Op("Sub", [x, mean]), dims);
            var pow = AttentionFusionPassTests.Typed(m.Op("Pow", [sub, m.Floats("two", [], 2f)]), dims);
            var variance = AttentionFusionPassTests.Typed(m.Op("ReduceMean", [pow], Attribute.IntList("axes", [axis])), reduced);
            var eps = AttentionFusionPassTests.Typed(m.Op("Add", [variance, m.Floats("eps", [], 1e-5f)]), reduced);
            var sqrt = AttentionFusionPassTests.Typed(m.Op("Sqrt", [eps]), reduced);
            var div = AttentionFusionPassTests.Typed(m.Op("Div", [sub, sqrt]), dims);
            var mul = AttentionFusionPassTests.Typed(m.Op("Mul", [div, gamma]), dims);
            y = AttentionFusionPassTests.Typed(m.Op("Add", [mul, beta]), dims);
        }

        var next = m.Op("Add", [y, x]);
        m.Output(next.Outputs[0], DataType.Float, dims);
        return m;
    }

    [Fact]
    public void Fuses_a_decomposed_norm_after_a_residual_add_into_skip_layer_normalization_with_the_bias()
    {
        var m = Norm(width: 40, residual: true);

        var (result, before, after) = m.RunPass(new LayerNormFusionPass());

        Assert.Equal(1, result.Counters["skip-layer-norms"]);
        Assert.Equal(["MatMul", "SkipLayerNormalization", "Add"], m.Ops);
        var fused = m.Graph.Nodes[1];
        Assert.Equal(OrtCudaFusions.Domain, fused.Domain);
        Assert.Equal("bias", fused.Input(4)!.Name);
        Assert.Same(fused.Outputs[3], m.Graph.Nodes[2].Input(1));
        Assert.Equal(1e-5f, fused.GetFloat("epsilon", 0));
        TinyModel.AssertSame(before, after, 1e-5);
    }

    [Fact]
    public void Fuses_a_decomposed_norm_without_residual_into_layer_normalization()
    {
        var m = Norm(width: 64, residual: false);

        var (result, before, after) = m.RunPass(new LayerNormFusionPass());

        Assert.Equal(1, result.Counters["layer-norms"]);
        Assert.Equal(0, result.Counters["skip-layer-norms"]);
        Assert.Equal(["LayerNormalization", "Add"], m.Ops);
        TinyModel.AssertSame(before, after, 1e-5);
    }

    [Fact]
    public void Fuses_an_opset_17_layer_normalization_after_a_residual_add()
    {
        var m = Norm(width: 40, residual: true, opset: 17);

        var (result, before, after) = m.RunPass(new LayerNormFusionPass());

        Assert.Equal(1, result.Counters["skip-layer-norms"]);
        Assert.Contains("SkipLayerNormalization", m.Ops);
        Assert.DoesNotContain("LayerNormalization", m.Ops);
        TinyModel.AssertSame(before, after, 1e-5);
    }

    [Fact]
    public void Leaves_a_norm_over_another_axis_unchanged_and_says_why()
    {
        var m = Norm(width: 40, residual: false, axis: 1);
        var ops = m.Ops.ToList();

        var result = new LayerNormFusionPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(ops, m.Ops);
        Assert.Equal(1, result.Counters["no match: ReduceMean does not start a last-axis layer norm"]);
    }
}
