using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class IdentityEliminationPassTests
{
    [Fact]
    public void Removes_a_chain_of_identities_between_two_ops()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var relu = m.Op("Relu", [x]);
        var id1 = m.Op("Identity", [relu.Outputs[0]]);
        var id2 = m.Op("Identity", [id1.Outputs[0]]);
        var tanh = m.Op("Tanh", [id2.Outputs[0]]);
        m.Output(tanh.Outputs[0], DataType.Float, 2, 3);

        var (result, before, after) = m.RunPass(new IdentityEliminationPass());

        Assert.True(result.Modified);
        Assert.Equal(2, result.Counters["removed"]);
        Assert.Equal(["Relu", "Tanh"], m.Ops);
        Assert.Same(relu.Outputs[0], tanh.Input(0));
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Removes_identity_feeding_a_graph_output_by_renaming_the_producer_output()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 4);
        var sig = m.Op("Sigmoid", [x]);
        var id = m.Op("Identity", [sig.Outputs[0]]);
        id.Outputs[0].Name = "probabilities";
        var neg = m.Op("Neg", [sig.Outputs[0]]);
        m.Output(id.Outputs[0], DataType.Float, 4);
        m.Output(neg.Outputs[0], DataType.Float, 4);

        var (result, before, after) = m.RunPass(new IdentityEliminationPass());

        Assert.Equal(1, result.Counters["renamed-outputs"]);
        Assert.Equal(["Sigmoid", "Neg"], m.Ops);
        Assert.Equal("probabilities", m.Graph.Outputs[0].Name);
        Assert.Same(sig.Outputs[0], m.Graph.Outputs[0]);
        Assert.Same(sig.Outputs[0], neg.Input(0));
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_identity_between_a_graph_input_and_a_graph_output()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 4);
        var id = m.Op("Identity", [x]);
        m.Output(id.Outputs[0], DataType.Float, 4);

        var (result, before, after) = m.RunPass(new IdentityEliminationPass());

        Assert.False(result.Modified);
        Assert.Equal(["Identity"], m.Ops);
        Assert.Equal("x", m.Graph.Inputs[0].Name);
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Removes_identity_inside_an_if_branch_reading_an_outer_value()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var cond = m.Input("cond", DataType.Bool, 1);
        var relu = m.Op("Relu", [x]);
        var thenBranch = new Graph("then", m.Graph);
        var tid = thenBranch.Create("Identity", [relu.Outputs[0]]);
        var texp = thenBranch.Create("Exp", [tid.Outputs[0]]);
        texp.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3]);
        thenBranch.Outputs.Add(texp.Outputs[0]);
        var elseBranch = new Graph("else", m.Graph);
        var eneg = elseBranch.Create("Neg", [relu.Outputs[0]]);
        eneg.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3]);
        elseBranch.Outputs.Add(eneg.Outputs[0]);
        var iff = m.Op("If", [cond], Ir.Attribute.GraphValue("then_branch", thenBranch), Ir.Attribute.GraphValue("else_branch", elseBranch));
        m.Output(iff.Outputs[0], DataType.Float, 3);

        var (result, before, after) = m.RunPass(new IdentityEliminationPass());

        Assert.Equal(1, result.Counters["removed"]);
        Assert.Equal(["Exp"], thenBranch.Nodes.Select(n => n.OpType));
        Assert.Same(relu.Outputs[0], texp.Input(0));
        TinyModel.AssertSame(before, after);
    }
}
