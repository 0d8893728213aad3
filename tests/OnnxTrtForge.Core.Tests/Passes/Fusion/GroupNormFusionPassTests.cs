using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

public sealed class GroupNormFusionPassTests
{
    /// <summary>
    /// x [2,C,H,W] → (Cast float32) → Reshape [2,G,·] → InstanceNorm(1, 0) → Reshape back → Mul γ → Add β
    /// → (Cast float16) → (x·Sigmoid(x)); or with <paramref name="grouped"/> false InstanceNorm(s, b) on x itself (G = C).
    /// </summary>
    internal static TinyModel Norm(long channels, long groups, long size, bool silu, bool grouped = true, bool float16 = false, float epsilon = 1e-5f, int seed = 3)
    {
        var m = new TinyModel(13);
        var io = float16 ? DataType.Float16 : DataType.Float;
        long[] dims = [2, channels, size, size];
        var input = m.Input("x", io, dims);
        var x = input;
        if (float16)
        {
            x = AttentionFusionPassTests.Typed(m.Op("Cast", [input], Attribute.Int("to", (long)DataType.Float)), dims);
        }

        Value result;
        if (grouped)
        {
            var r1 = AttentionFusionPassTests.Typed(m.Op("Reshape", [x, m.Int64s("grouped", 0, groups, -1)]), 2, groups, channels / groups * size * size);
            var ones = m.Floats("s", [groups], Enumerable.Repeat(1f, (int)groups).ToArray());
            var norm = AttentionFusionPassTests.Typed(m.Op("InstanceNormalization", [r1, ones, m.Floats("b", [groups], new float[groups])], Attribute.Float("epsilon", epsilon)), 2, groups, channels / groups * size * size);
            var r2 = AttentionFusionPassTests.Typed(m.Op("Reshape", [norm, m.Int64s("back", dims)]), dims);
            var mul = AttentionFusionPassTests.Typed(m.Op("Mul", [r2, m.Const(AttentionFusionPassTests.Weights([channels, 1, 1], seed), "gamma")]), dims);
            result = AttentionFusionPassTests.Typed(m.Op("Add", [mul, m.Const(AttentionFusionPassTests.Weights([channels, 1, 1], seed + 1), "beta")]), dims);
        }
        else
        {
            result = AttentionFusionPassTests.Typed(m.Op("InstanceNormalization", [x, m.Const(AttentionFusionPassTests.Weights([channels], seed), "s"), m.Const(AttentionFusionPassTests.Weights([channels], seed + 1), "b")], Attribute.Float("epsilon", epsilon)), dims);
        }

        if (float16)
        {
            result = m.Op("Cast", [result], Attribute.Int("to", (long)DataType.Float16)).Outputs[0];
            result.Type = TypeInfo.OfTensor(DataType.Float16, dims);
        }

        if (silu)
        {
            var sigmoid = m.Op("Sigmoid", [result]).Outputs[0];
            sigmoid.Type = result.Type;
            result = m.Op("Mul", [result, sigmoid]).Outputs[0];
        }

        m.Output(result, io, dims);
        return m;
    }

    [Fact]
    public void Fuses_an_exported_group_norm_and_its_silu_into_a_channels_last_group_norm_between_transposes()
    {
        var m = Norm(channels: 64, groups: 32, size: 4, silu: true);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new GroupNormFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["group-norms"]);
        Assert.Equal(["Transpose", "GroupNorm", "Transpose"], m.Ops);
        var norm = m.Graph.Nodes[1];
        Assert.Equal(OrtCudaFusions.Domain, norm.Domain);
        Assert.Equal(1, norm.GetInt("activation", 0));
        Assert.Equal(1, norm.GetInt("channels_last", 0));
        Assert.Equal(32, norm.GetInt("groups", 0));
        Assert.Equal([2L, 4, 4, 64], norm.Input(0)!.Type!.StaticDims!);
        Assert.Equal(DataType.Float, norm.Input(1)!.Initializer!.Type);
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Reads_a_norm_with_one_channel_per_group_as_a_flat_channels_last_tensor_without_transposes()
    {
        var m = Norm(channels: 40, groups: 40, size: 4, silu: false, grouped: false, epsilon: 1e-6f);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new GroupNormFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["group-norms"]);
        Assert.Equal(["Reshape", "GroupNorm", "Reshape"], m.Ops);
        var norm = m.Graph.Nodes[1];
        Assert.Equal(0, norm.GetInt("activation", 1));
        Assert.Equal(40, norm.GetInt("groups", 0));
        Assert.Equal(1e-6f, norm.GetFloat("epsilon", 0));
        Assert.Equal([2L, 1, 1, 640], norm.Input(0)!.Type!.StaticDims!);
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Fuses_a_float16_group_norm_between_its_casts_so_the_fused_op_reads_float16()
    {
        var m = Norm(channels: 40, groups: 8, size: 4, silu: true, float16: true);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new GroupNormFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["group-norms"]);
        Assert.DoesNotContain("Cast", m.Ops);
        var norm = Assert.Single(m.Graph.Nodes, n => n.OpType == "GroupNorm");
        Assert.Equal(DataType.Float16, norm.Input(0)!.Type!.ElementType);
        Assert.Equal(DataType.Float16, norm.Outputs[0].Type!.ElementType);
        Assert.Equal(1, norm.GetInt("activation", 0));
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 2e-3);
    }

    [Fact]
    public void Leaves_a_norm_the_cuda_kernel_cannot_run_unchanged_and_says_why()
    {
        var m = Norm(channels: 3, groups: 3, size: 3, silu: false, grouped: false);
        var ops = m.Ops.ToList();

        var result = new GroupNormFusionPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(ops, m.Ops);
        Assert.Contains(result.Counters.Keys, k => k.StartsWith("no match: the CUDA GroupNorm kernel needs an even channel count", StringComparison.Ordinal));
        Assert.Single(result.Notes);
    }
}
