using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class CommonSubexpressionEliminationPassTests
{
    [Fact]
    public void Merges_duplicated_shape_chains_in_one_run()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3, 4);
        Node Chain()
        {
            var shape = m.Op("Shape", [x]);
            var gather = m.Op("Gather", [shape.Outputs[0], m.Const(Tensor.Scalar(0), m.Graph.Names.Fresh("i"))], Attribute.Int("axis", 0));
            return m.Op("Unsqueeze", [gather.Outputs[0], m.Int64s(m.Graph.Names.Fresh("axes"), 0)]);
        }

        var first = Chain();
        var second = Chain();
        var concat = m.Op("Concat", [first.Outputs[0], second.Outputs[0], m.Int64s("minus_one", -1)], Attribute.Int("axis", 0));
        var reshape = m.Op("Reshape", [x, concat.Outputs[0]]);
        m.Output(reshape.Outputs[0], DataType.Float, 2, 2, 6);

        // The index and axes initializers are distinct values: dedup first makes the chains identical.
        new InitializerDeduplicationPass().Run(m.Model);
        var (result, before, after) = m.RunPass(new CommonSubexpressionEliminationPass());

        Assert.Equal(3, result.Counters["merged"]);
        Assert.Equal(["Shape", "Gather", "Unsqueeze", "Concat", "Reshape"], m.Ops);
        Assert.Same(concat.Input(0), concat.Input(1));
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_nodes_that_differ_in_an_attribute_or_are_random()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var s0 = m.Op("Softmax", [x], Attribute.Int("axis", 0));
        var s1 = m.Op("Softmax", [x], Attribute.Int("axis", 1));
        var r0 = m.Op("RandomUniformLike", [x]);
        var r1 = m.Op("RandomUniformLike", [x]);
        var a = m.Op("Add", [s0.Outputs[0], s1.Outputs[0]]);
        var b = m.Op("Sub", [r0.Outputs[0], r1.Outputs[0]]);
        m.Output(a.Outputs[0], DataType.Float, 2, 3);
        m.Output(b.Outputs[0], DataType.Float, 2, 3);

        var result = new CommonSubexpressionEliminationPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(6, m.Graph.Nodes.Count);
    }

    [Fact]
    public void Merges_a_duplicate_whose_twin_is_a_graph_output_but_never_removes_a_graph_output()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var e1 = m.Op("Exp", [x]);
        var e2 = m.Op("Exp", [x]);
        var e3 = m.Op("Exp", [x]);
        var n = m.Op("Neg", [e3.Outputs[0]]);
        m.Output(e1.Outputs[0], DataType.Float, 3);
        m.Output(e2.Outputs[0], DataType.Float, 3);
        m.Output(n.Outputs[0], DataType.Float, 3);

        var (result, before, after) = m.RunPass(new CommonSubexpressionEliminationPass());

        Assert.Equal(1, result.Counters["merged"]);
        Assert.Same(e1.Outputs[0], n.Input(0));
        Assert.Equal(["Exp", "Exp", "Neg"], m.Ops);
        TinyModel.AssertSame(before, after);
    }
}
