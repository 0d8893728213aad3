using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class DeadNodeEliminationPassTests
{
    [Fact]
    public void Removes_an_unused_chain_and_keeps_what_reaches_an_output()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var relu = m.Op("Relu", [x]);
        var deadA = m.Op("Exp", [relu.Outputs[0]]);
        m.Op("Neg", [deadA.Outputs[0]]);
        var tanh = m.Op("Tanh", [relu.Outputs[0]]);
        m.Output(tanh.Outputs[0], DataType.Float, 2, 3);

        var (result, before, after) = m.RunPass(new DeadNodeEliminationPass());

        Assert.Equal(2, result.Counters["removed"]);
        Assert.Equal(["Relu", "Tanh"], m.Ops);
        Assert.Equal([tanh], relu.Outputs[0].Uses.Select(u => u.Node));
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_a_node_whose_only_reader_is_inside_a_live_subgraph()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var cond = m.Input("cond", DataType.Bool, 1);
        var exp = m.Op("Exp", [x]);
        var thenBranch = new Graph("then", m.Graph);
        var tneg = thenBranch.Create("Neg", [exp.Outputs[0]]);
        tneg.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3]);
        thenBranch.Outputs.Add(tneg.Outputs[0]);
        var elseBranch = new Graph("else", m.Graph);
        var eabs = elseBranch.Create("Abs", [x]);
        eabs.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3]);
        elseBranch.Outputs.Add(eabs.Outputs[0]);
        var iff = m.Op("If", [cond], Ir.Attribute.GraphValue("then_branch", thenBranch), Ir.Attribute.GraphValue("else_branch", elseBranch));
        m.Output(iff.Outputs[0], DataType.Float, 3);

        var (result, before, after) = m.RunPass(new DeadNodeEliminationPass());

        Assert.False(result.Modified);
        Assert.Equal(["Exp", "If"], m.Ops);
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Removes_an_unused_if_and_releases_the_outer_values_its_branches_read()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var cond = m.Input("cond", DataType.Bool, 1);
        var exp = m.Op("Exp", [x]);
        var thenBranch = new Graph("then", m.Graph);
        var tneg = thenBranch.Create("Neg", [exp.Outputs[0]]);
        thenBranch.Outputs.Add(tneg.Outputs[0]);
        var elseBranch = new Graph("else", m.Graph);
        var eabs = elseBranch.Create("Abs", [exp.Outputs[0]]);
        elseBranch.Outputs.Add(eabs.Outputs[0]);
        m.Op("If", [cond], Ir.Attribute.GraphValue("then_branch", thenBranch), Ir.Attribute.GraphValue("else_branch", elseBranch));
        var tanh = m.Op("Tanh", [x]);
        m.Output(tanh.Outputs[0], DataType.Float, 3);

        var (result, before, after) = m.RunPass(new DeadNodeEliminationPass());

        Assert.Equal(2, result.Counters["removed"]);
        Assert.Equal(["Tanh"], m.Ops);
        Assert.DoesNotContain(x.Uses, u => u.Node != tanh);
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_a_custom_domain_node_without_outputs_and_removes_one_with_unused_outputs()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var sink = new Node("com.example", "Print", [x], []);
        m.Graph.Append(sink);
        var custom = new Node("com.example", "Scale", [x], ["scaled"]);
        m.Graph.Append(custom);
        var neg = m.Op("Neg", [x]);
        m.Output(neg.Outputs[0], DataType.Float, 3);

        var result = new DeadNodeEliminationPass().Run(m.Model);

        Assert.Equal(1, result.Counters["removed"]);
        Assert.Equal(["Print", "Neg"], m.Ops);
    }
}
