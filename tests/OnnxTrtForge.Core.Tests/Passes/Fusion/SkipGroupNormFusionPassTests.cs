using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

public sealed class SkipGroupNormFusionPassTests
{
    [Fact]
    public void Takes_the_time_embedding_add_of_a_channels_last_resnet_block_into_skip_group_norm()
    {
        var m = TransposeOptimizationPassTests.ResnetBlock(channels: 64, size: 4);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);
        new GroupNormFusionPass().Run(m.Model);
        new NhwcConvFusionPass().Run(m.Model);
        new TransposeOptimizationPass().Run(m.Model);

        var result = new SkipGroupNormFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["skip-group-norms"]);
        Assert.Equal(1, result.Counters["no match: GroupNorm does not read an Add of channels-last tensors"]);
        var fused = Assert.Single(m.Graph.Nodes, n => n.OpType == "SkipGroupNorm");
        Assert.Equal(OrtCudaFusions.Domain, fused.Domain);
        Assert.Equal([2L, 1, 1, 64], fused.Input(3)!.Type!.StaticDims!);
        Assert.Equal(1, fused.GetInt("activation", 0));
        Assert.Single(m.Graph.Nodes, n => n.OpType == "GroupNorm");
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-4);
    }
}
