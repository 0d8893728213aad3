using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class GroupNormAsInstanceNormPassTests
{
    /// <summary>The exporter's GroupNorm: Reshape [N,G,-1] → InstanceNorm(1, 0) → Reshape back → Mul γ → Add β.</summary>
    private static TinyModel GroupNorm(int channels, int groups, float[] gamma, float[] beta)
    {
        var m = new TinyModel(12);
        var x = m.Input("x", DataType.Float, 2, channels, 4, 4);
        var r1 = m.Op("Reshape", [x, m.Int64s("grouped", 0, groups, -1)]);
        r1.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, groups, channels * 16 / groups]);
        var norm = m.Op("InstanceNormalization", [r1.Outputs[0], m.Floats("s", [groups], Enumerable.Repeat(1f, groups).ToArray()), m.Floats("b", [groups], new float[groups])], Attribute.Float("epsilon", 1e-5f));
        norm.Outputs[0].Type = r1.Outputs[0].Type;
        var r2 = m.Op("Reshape", [norm.Outputs[0], m.Int64s("back", 2, channels, 4, 4)]);
        r2.Outputs[0].Type = x.Type;
        var mul = m.Op("Mul", [r2.Outputs[0], m.Floats("gamma", [channels, 1, 1], gamma)]);
        mul.Outputs[0].Type = x.Type;
        var add = m.Op("Add", [mul.Outputs[0], m.Floats("beta", [channels, 1, 1], beta)]);
        add.Outputs[0].Type = x.Type;
        var y = m.Op("Sigmoid", [add.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 2, channels, 4, 4);
        return m;
    }

    [Fact]
    public void Turns_a_group_norm_with_one_channel_per_group_into_one_instance_norm_with_the_affine_folded_in()
    {
        var m = GroupNorm(4, 4, [0.5f, 2f, -1f, 1.5f], [0.1f, -0.2f, 0.3f, 0f]);

        var (result, before, after) = m.RunPass(new GroupNormAsInstanceNormPass());

        Assert.Equal(1, result.Counters["group-norms"]);
        Assert.Equal(["InstanceNormalization", "Sigmoid"], m.Ops);
        var norm = m.Graph.Nodes[0];
        Assert.Same(m.Graph.Inputs[0], norm.Input(0));
        Assert.Equal([0.5, 2, -1, 1.5], norm.Input(1)!.Initializer!.ToDoubleArray());
        TinyModel.AssertSame(before, after, 1e-6);
    }

    [Fact]
    public void Keeps_a_group_norm_with_several_channels_per_group()
    {
        var m = GroupNorm(4, 2, [1, 1, 1, 1], [0, 0, 0, 0]);

        Assert.False(new GroupNormAsInstanceNormPass().Run(m.Model).Modified);
        Assert.Equal(6, m.Ops.Count);
    }
}
