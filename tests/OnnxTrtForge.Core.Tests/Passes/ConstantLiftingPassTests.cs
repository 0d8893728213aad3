using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ConstantLiftingPassTests
{
    [Fact]
    public void Lifts_every_value_form_of_constant_into_named_initializers()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var tensor = m.Op("Constant", [], Attribute.TensorValue("value", Tensor.FromFloats([3], [1, 2, 3])));
        tensor.Outputs[0].Name = "bias";
        var scalar = m.Op("Constant", [], Attribute.Float("value_float", 0.5f));
        var floats = m.Op("Constant", [], Attribute.FloatList("value_floats", [2f, 2f, 2f]));
        var ints = m.Op("Constant", [], Attribute.IntList("value_ints", [3, 2]));
        var one = m.Op("Constant", [], Attribute.Int("value_int", 1));
        var a = m.Op("Add", [x, tensor.Outputs[0]]);
        var b = m.Op("Mul", [a.Outputs[0], scalar.Outputs[0]]);
        var c = m.Op("Div", [b.Outputs[0], floats.Outputs[0]]);
        var r = m.Op("Reshape", [c.Outputs[0], ints.Outputs[0]]);
        var f = m.Op("Flatten", [r.Outputs[0]], Attribute.Int("axis", 1));
        var g = m.Op("Unsqueeze", [f.Outputs[0], m.Int64s("axes", 0)]);
        var s = m.Op("Squeeze", [g.Outputs[0], m.Int64s("axes0", 0)]);
        var cast = m.Op("Cast", [one.Outputs[0]], Attribute.Int("to", (long)DataType.Float));
        var y = m.Op("Sub", [s.Outputs[0], cast.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 3, 2);

        var (result, before, after) = m.RunPass(new ConstantLiftingPass());

        Assert.Equal(5, result.Counters["lifted"]);
        Assert.DoesNotContain("Constant", m.Ops);
        var bias = m.Graph.FindInitializer("bias");
        Assert.NotNull(bias);
        Assert.Same(bias, a.Input(1));
        Assert.Equal([3L], bias!.Initializer!.Dims);
        Assert.Equal(DataType.Int64, ((Value)r.Input(1)!).Initializer!.Type);
        Assert.Empty(((Value)scalar.Outputs[0]).Uses);
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Leaves_a_constant_that_is_a_graph_output()
    {
        var m = new TinyModel();
        var k = m.Op("Constant", [], Attribute.TensorValue("value", Tensor.FromFloats([2], [1, 2])));
        m.Output(k.Outputs[0], DataType.Float, 2);

        var result = new ConstantLiftingPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(["Constant"], m.Ops);
    }
}
