using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class SliceSimplificationPassTests
{
    [Fact]
    public void A_slice_that_takes_one_concat_input_back_is_that_input()
    {
        // The timestep embedding's flip: cat(sin, cos)[:, 16:] and [:, :16], concatenated again.
        var m = new TinyModel();
        var sin = m.Input("sin", DataType.Float, 2, 16);
        var cos = m.Input("cos", DataType.Float, 2, 16);
        var cat = m.Op("Concat", [sin, cos], Attribute.Int("axis", -1));
        cat.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 32]);
        var hi = m.Op("Slice", [cat.Outputs[0], m.Int64s("s1", 16), m.Int64s("e1", long.MaxValue), m.Int64s("a1", 1)]);
        hi.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 16]);
        var lo = m.Op("Slice", [cat.Outputs[0], m.Int64s("s2", 0), m.Int64s("e2", 16), m.Int64s("a2", -1)]);
        lo.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 16]);
        var flipped = m.Op("Concat", [hi.Outputs[0], lo.Outputs[0]], Attribute.Int("axis", -1));
        m.Output(flipped.Outputs[0], DataType.Float, 2, 32);

        var (result, before, after) = m.RunPass(new SliceSimplificationPass());

        Assert.Equal(2, result.Counters["slices-of-concat"]);
        Assert.Equal(["Concat"], m.Ops);
        Assert.Same(cos, m.Graph.Nodes[0].Input(0));
        Assert.Same(sin, m.Graph.Nodes[0].Input(1));
        TinyModel.AssertSame(before, after);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    public void Slices_that_cut_an_axis_into_contiguous_halves_become_one_split(long opset)
    {
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 2, 3, 8);
        var a = m.Op("Slice", [x, m.Int64s("s1", 0), m.Int64s("e1", 4), m.Int64s("a1", -1)]);
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 3, 4]);
        var b = m.Op("Slice", [x, m.Int64s("s2", 4), m.Int64s("e2", long.MaxValue), m.Int64s("a2", 2)]);
        b.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 3, 4]);
        var gelu = m.Op("Mul", [a.Outputs[0], b.Outputs[0]]);
        m.Output(gelu.Outputs[0], DataType.Float, 2, 3, 4);

        var (result, before, after) = m.RunPass(new SliceSimplificationPass());

        Assert.Equal(1, result.Counters["splits"]);
        Assert.Equal(["Split", "Mul"], m.Ops);
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_slices_that_leave_a_gap()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 8);
        var a = m.Op("Slice", [x, m.Int64s("s1", 0), m.Int64s("e1", 3)]);
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3]);
        var b = m.Op("Slice", [x, m.Int64s("s2", 4), m.Int64s("e2", 8)]);
        b.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [4]);
        m.Output(m.Op("Neg", [a.Outputs[0]]).Outputs[0], DataType.Float, 3);
        m.Output(m.Op("Neg", [b.Outputs[0]]).Outputs[0], DataType.Float, 4);

        Assert.False(new SliceSimplificationPass().Run(m.Model).Modified);
    }
}
