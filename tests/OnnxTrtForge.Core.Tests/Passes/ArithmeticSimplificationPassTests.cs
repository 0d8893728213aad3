using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ArithmeticSimplificationPassTests
{
    [Fact]
    public void Removes_multiplication_by_one_division_by_one_and_addition_of_zero()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var one = m.Floats("one", [1], 1f);
        var zeros = m.Floats("zeros", [3], 0f, 0f, 0f);
        var a = m.Op("Mul", [one, x]);
        a.Outputs[0].Type = x.Type;
        var b = m.Op("Div", [a.Outputs[0], one]);
        b.Outputs[0].Type = x.Type;
        var c = m.Op("Add", [b.Outputs[0], zeros]);
        c.Outputs[0].Type = x.Type;
        var d = m.Op("Sub", [c.Outputs[0], zeros]);
        d.Outputs[0].Type = x.Type;
        var y = m.Op("Tanh", [d.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 2, 3);

        var (result, before, after) = m.RunPass(new ArithmeticSimplificationPass());

        Assert.Equal(4, result.Counters["neutral-removed"]);
        Assert.Equal(["Tanh"], m.Ops);
        Assert.Same(x, m.Graph.Nodes[0].Input(0));
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_a_neutral_constant_whose_broadcast_changes_the_shape()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var ones = m.Floats("ones", [2, 3], 1, 1, 1, 1, 1, 1);
        var a = m.Op("Mul", [x, ones]);
        m.Output(a.Outputs[0], DataType.Float, 2, 3);

        var result = new ArithmeticSimplificationPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(["Mul"], m.Ops);
    }

    [Fact]
    public void Keeps_a_constant_that_is_not_neutral()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var c = m.Floats("c", [3], 1, 1, 0.5f);
        var a = m.Op("Mul", [x, c]);
        m.Output(a.Outputs[0], DataType.Float, 3);

        Assert.False(new ArithmeticSimplificationPass().Run(m.Model).Modified);
    }

    [Fact]
    public void Merges_a_scaling_chain_with_a_power_of_two_into_one_bit_identical_mul()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 16);
        var a = m.Op("Mul", [x, m.Floats("a", [], 0.3f)]);
        a.Outputs[0].Type = x.Type;
        var b = m.Op("Div", [a.Outputs[0], m.Floats("b", [], 4f)]);
        m.Output(b.Outputs[0], DataType.Float, 16);

        var (result, before, after) = m.RunPass(new ArithmeticSimplificationPass());

        Assert.Equal(1, result.Counters["scalings-merged"]);
        Assert.Equal(["Mul"], m.Ops);
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_a_scaling_chain_that_would_round_differently()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 16);
        var a = m.Op("Mul", [x, m.Floats("a", [], 0.3f)]);
        a.Outputs[0].Type = x.Type;
        var b = m.Op("Mul", [a.Outputs[0], m.Floats("b", [], 3f)]);
        m.Output(b.Outputs[0], DataType.Float, 16);

        Assert.False(new ArithmeticSimplificationPass().Run(m.Model).Modified);
        Assert.Equal(["Mul", "Mul"], m.Ops);
    }

    [Fact]
    public void Removes_a_neutral_constant_against_a_dynamic_batch_but_not_one_that_could_broadcast_it()
    {
        var m = new TinyModel();
        var x = m.Graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("batch"), Dim.Of(3)]));
        var a = m.Op("Mul", [x, m.Floats("ones", [3], 1, 1, 1)]);
        a.Outputs[0].Type = x.Type;
        var b = m.Op("Add", [a.Outputs[0], m.Floats("zeros", [2, 3], 0, 0, 0, 0, 0, 0)]);
        b.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 3]);
        var y = m.Op("Relu", [b.Outputs[0]]);
        y.Outputs[0].Type = b.Outputs[0].Type;
        m.Graph.Outputs.Add(y.Outputs[0]);

        var result = new ArithmeticSimplificationPass().Run(m.Model);

        Assert.Equal(1, result.Counters["neutral-removed"]);
        Assert.Equal(["Add", "Relu"], m.Ops);
        Assert.Same(x, m.Graph.Nodes[0].Input(0));
    }
}
