using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

public sealed class NhwcConvFusionPassTests
{
    private static TinyModel Conv(long channels, long outChannels, long size, long stride, long group = 1)
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, channels, size, size);
        var w = m.Const(AttentionFusionPassTests.Weights([outChannels, channels / group, 3, 3], 5), "w");
        var b = m.Const(AttentionFusionPassTests.Weights([outChannels], 6), "b");
        var outSize = ((size + 2 - 3) / stride) + 1;
        var conv = m.Op("Conv", [x, w, b], Attribute.IntList("kernel_shape", [3, 3]), Attribute.IntList("pads", [1, 1, 1, 1]),
            Attribute.IntList("strides", [stride, stride]), Attribute.Int("group", group));
        m.Output(conv.Outputs[0], DataType.Float, 2, outChannels, outSize, outSize);
        return m;
    }

    [Fact]
    public void Turns_a_strided_convolution_into_nhwc_conv_reading_channels_last_weights()
    {
        var m = Conv(channels: 40, outChannels: 24, size: 6, stride: 2);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var result = new NhwcConvFusionPass().Run(m.Model);

        Assert.Equal(1, result.Counters["nhwc-convs"]);
        Assert.Equal(["Transpose", "Transpose", "NhwcConv", "Transpose"], m.Ops);
        var conv = m.Graph.Nodes[2];
        Assert.Equal(OrtCudaFusions.Domain, conv.Domain);
        Assert.Equal([2L, 6, 6, 40], conv.Input(0)!.Type!.StaticDims!);
        Assert.Equal([24L, 3, 3, 40], conv.Input(1)!.Type!.StaticDims!);
        Assert.Equal([2L, 2], conv.GetInts("strides")!);
        TinyModel.AssertSame(before, ContribReference.Run(m.Model, inputs), 1e-5);
    }

    [Fact]
    public void Leaves_a_grouped_convolution_unchanged_and_says_why()
    {
        var m = Conv(channels: 8, outChannels: 8, size: 4, stride: 1, group: 2);

        var result = new NhwcConvFusionPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(["Conv"], m.Ops);
        Assert.Equal(1, result.Counters["no match: grouped convolution"]);
    }
}
