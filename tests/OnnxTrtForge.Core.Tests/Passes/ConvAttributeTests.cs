using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ConvAttributeTests
{
    [Theory]
    [InlineData(0L, 1L)]
    [InlineData(-1L, 1L)]
    [InlineData(1L, 0L)]
    public void A_conv_stride_or_dilation_below_one_is_bad_input_naming_the_node_not_a_crash(long stride, long dilation)
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 1, 2, 8, 8);
        var w = m.Floats("w", [3, 2, 3, 3], new float[54]);
        var conv = m.Op("Conv", [x, w], Attribute.IntList("strides", [stride, 1]), Attribute.IntList("dilations", [dilation, 1]));
        conv.Name = "bad_conv";
        m.Graph.Outputs.Add(conv.Outputs[0]);

        var e = Assert.Throws<ForgeInputException>(() => new ShapeInferencePass().Run(m.Model));

        Assert.Contains("bad_conv", e.Message, StringComparison.Ordinal);
        Assert.Contains("positive", e.Message, StringComparison.Ordinal);
    }
}
