using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

public sealed class BiasSplitGeluFusionPassTests
{
    /// <summary>GEGLU as the TorchScript export writes it (or, with <paramref name="dynamoOrder"/>, as the dynamo export orders the gelu products).</summary>
    private static TinyModel Geglu(long width, long hidden, bool dynamoOrder)
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3, width);
        var mm = AttentionFusionPassTests.Typed(m.Op("MatMul", [x, m.Const(AttentionFusionPassTests.Weights([width, hidden], 12), "w")]), 2, 3, hidden);
        var h = AttentionFusionPassTests.Typed(m.Op("Add", [m.Const(AttentionFusionPassTests.Weights([hidden], 13), "bias"), mm]), 2, 3, hidden);
        var split = m.Op("Split", [h, m.Int64s("halves", hidden / 2, hidden / 2)], 2, Attribute.Int("axis", 2));
        long[] half = [2, 3, hidden / 2];
        split.Outputs[0].Type = split.Outputs[1].Type = TypeInfo.OfTensor(DataType.Float, half);
        var (a, g) = (split.Outputs[0], split.Outputs[1]);
        var div = AttentionFusionPassTests.Typed(m.Op("Div", [g, m.Floats("sqrt2", [], 1.4142135f)]), half);
        var erf = AttentionFusionPassTests.Typed(m.Op("Erf", [div]), half);
        var plus = AttentionFusionPassTests.Typed(m.Op("Add", [erf, m.Floats("one", [], 1f)]), half);
        Value gelu;
        if (dynamoOrder)
        {
            var halfTerm = AttentionFusionPassTests.Typed(m.Op("Mul", [m.Floats("half", [], 0.5f), plus]), half);
            gelu = AttentionFusionPassTests.Typed(m.Op("Mul", [g, halfTerm]), half);
        }
        else
        {
            var prod = AttentionFusionPassTests.Typed(m.Op("Mul", [g, plus]), half);
            gelu = AttentionFusionPassTests.Typed(m.Op("Mul", [prod, m.Floats("half", [], 0.5f)]), half);
        }

        var y = m.Op("Mul", [a, gelu]);
        m.Output(y.Outputs[0], DataType.Float, half);
        return m;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fuses_geglu_of_hidden_size_2560_into_bias_split_gelu(bool dynamoOrder)
    {
        var m = Geglu(width: 16, hidden: 2560, dynamoOrder);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new BiasSplitGeluFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["bias-split-gelus"]);
        Assert.Equal(["MatMul", "BiasSplitGelu"], m.Ops);
        var fused = m.Graph.Nodes[1];
        Assert.Equal(OrtCudaFusions.Domain, fused.Domain);
        Assert.Equal("bias", fused.Input(1)!.Name);
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Leaves_geglu_of_a_hidden_size_the_cuda_kernel_lacks_unchanged_and_says_why()
    {
        var m = Geglu(width: 8, hidden: 256, dynamoOrder: false);
        var ops = m.Ops.ToList();

        var result = new BiasSplitGeluFusionPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(ops, m.Ops);
        Assert.Equal(1, result.Counters["no match: hidden size is not one of 2560, 5120, 10240 (ORT's CUDA BiasSplitGelu kernel)"]);
    }
}
