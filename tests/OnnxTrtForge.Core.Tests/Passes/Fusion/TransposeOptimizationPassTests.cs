using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

public sealed class TransposeOptimizationPassTests
{
    /// <summary>
    /// A ResNet block as the exports write it, of <paramref name="channels"/> channels in 32 groups: x → GroupNorm+SiLU
    /// → Conv → + time embedding [N,C,1,1] → GroupNorm+SiLU → Conv → + x.
    /// </summary>
    internal static TinyModel ResnetBlock(long channels, long size)
    {
        var m = new TinyModel(13);
        long[] dims = [2, channels, size, size];
        var x = m.Input("x", DataType.Float, dims);
        var t = m.Input("temb", DataType.Float, 2, channels);
        Value NormSilu(Value input, int seed)
        {
            var r1 = AttentionFusionPassTests.Typed(m.Op("Reshape", [input, m.Int64s($"g{seed}", 0, 32, -1)]), 2, 32, channels / 32 * size * size);
            var norm = AttentionFusionPassTests.Typed(m.Op("InstanceNormalization", [r1, m.Floats($"s{seed}", [32], Enumerable.Repeat(1f, 32).ToArray()), m.Floats($"b{seed}", [32], new float[32])]), 2, 32, channels / 32 * size * size);
            var r2 = AttentionFusionPassTests.Typed(m.Op("Reshape", [norm, m.Int64s($"back{seed}", dims)]), dims);
            var mul = AttentionFusionPassTests.Typed(m.Op("Mul", [r2, m.Const(AttentionFusionPassTests.Weights([channels, 1, 1], seed), $"gamma{seed}")]), dims);
            var add = AttentionFusionPassTests.Typed(m.Op("Add", [mul, m.Const(AttentionFusionPassTests.Weights([channels, 1, 1], seed + 1), $"beta{seed}")]), dims);
            var sig = AttentionFusionPassTests.Typed(m.Op("Sigmoid", [add]), dims);
            return AttentionFusionPassTests.Typed(m.Op("Mul", [add, sig]), dims);
        }

        Value Conv(Value input, int seed) => AttentionFusionPassTests.Typed(
            m.Op("Conv", [input, m.Const(AttentionFusionPassTests.Weights([channels, channels, 3, 3], seed), $"w{seed}"), m.Const(AttentionFusionPassTests.Weights([channels], seed + 1), $"cb{seed}")],
                Attribute.IntList("kernel_shape", [3, 3]), Attribute.IntList("pads", [1, 1, 1, 1])), dims);

        var h = Conv(NormSilu(x, 1), 10);
        var temb = AttentionFusionPassTests.Typed(m.Op("Unsqueeze", [t, m.Int64s("axes", 2, 3)]), 2, channels, 1, 1);
        h = AttentionFusionPassTests.Typed(m.Op("Add", [h, temb]), dims);
        h = Conv(NormSilu(h, 20), 30);
        var y = m.Op("Add", [x, h]);
        m.Output(y.Outputs[0], DataType.Float, dims);
        return m;
    }

    [Fact]
    public void A_resnet_block_of_64_channels_stays_channels_last_from_its_input_to_its_output()
    {
        var m = ResnetBlock(channels: 64, size: 4);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        new GroupNormFusionPass().Run(m.Model);
        new NhwcConvFusionPass().Run(m.Model);
        var result = new TransposeOptimizationPass().Run(m.Model);

        Assert.True(result.Modified);
        var dataTransposes = m.Graph.Nodes.Where(n => n.Is("Transpose") && !n.Input(0)!.IsInitializer).ToList();
        Assert.Equal(2, dataTransposes.Count);
        Assert.Same(m.Graph.Inputs[0], dataTransposes[0].Input(0));
        Assert.Equal([0L, 3, 1, 2], dataTransposes[1].GetInts("perm")!);
        Assert.Equal((10L, 4L), (result.Counters["transposes-before"], result.Counters["transposes-after"]));
        Assert.Equal(2, m.Ops.Count(o => o == "GroupNorm"));
        Assert.Equal(2, m.Ops.Count(o => o == "NhwcConv"));
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-4);
    }

    [Fact]
    public void Removes_a_transpose_pair_that_cancels_and_keeps_the_output_name()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3, 4, 5);
        var a = AttentionFusionPassTests.Typed(m.Op("Transpose", [x], Attribute.IntList("perm", [0, 2, 3, 1])), 2, 4, 5, 3);
        var s = AttentionFusionPassTests.Typed(m.Op("Sigmoid", [a]), 2, 4, 5, 3);
        var b = m.Op("Transpose", [s], Attribute.IntList("perm", [0, 3, 1, 2]));
        m.Output(b.Outputs[0], DataType.Float, 2, 3, 4, 5);
        var name = b.Outputs[0].Name;

        var (result, before, after) = m.RunPass(new TransposeOptimizationPass());

        Assert.Equal(["Sigmoid"], m.Ops);
        Assert.Equal(name, m.Graph.Outputs[0].Name);
        Assert.Equal(1, result.Counters["pairs-cancelled"]);
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Leaves_a_transpose_that_nothing_cancels_unchanged()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3, 4, 5);
        var a = AttentionFusionPassTests.Typed(m.Op("Transpose", [x], Attribute.IntList("perm", [0, 2, 3, 1])), 2, 4, 5, 3);
        var s = m.Op("Sigmoid", [a]);
        m.Output(s.Outputs[0], DataType.Float, 2, 4, 5, 3);

        var result = new TransposeOptimizationPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(["Transpose", "Sigmoid"], m.Ops);
    }
}
