using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class UnusedInitializerRemovalPassTests
{
    [Fact]
    public void Removes_unused_initializers_but_keeps_used_ones_and_overridable_inputs()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var bias = m.Floats("bias", [3], 1, 2, 3);
        m.Floats("orphan", [2], 5, 6);
        var scale = m.Floats("scale", [1], 2);
        m.Graph.Inputs.Add(scale);
        var add = m.Op("Add", [x, bias]);
        var mul = m.Op("Mul", [add.Outputs[0], scale]);
        m.Output(mul.Outputs[0], DataType.Float, 3);
        m.Floats("orphan_input_default", [1], 0);
        m.Graph.Inputs.Add(m.Graph.FindInitializer("orphan_input_default")!);

        var result = new UnusedInitializerRemovalPass().Run(m.Model);

        Assert.Equal(1, result.Counters["removed"]);
        Assert.Equal(8, result.Counters["bytes"]);
        Assert.Equal(["bias", "scale", "orphan_input_default"], m.Graph.Initializers.Select(v => v.Name));
        Assert.Null(m.Graph.FindInitializer("orphan"));
    }

    [Fact]
    public void Keeps_an_initializer_read_only_inside_a_subgraph()
    {
        var m = new TinyModel();
        var cond = m.Input("cond", DataType.Bool, 1);
        var k = m.Floats("k", [2], 1, 2);
        var thenBranch = new Graph("then", m.Graph);
        var t = thenBranch.Create("Neg", [k]);
        t.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2]);
        thenBranch.Outputs.Add(t.Outputs[0]);
        var elseBranch = new Graph("else", m.Graph);
        var e = elseBranch.Create("Abs", [k]);
        e.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2]);
        elseBranch.Outputs.Add(e.Outputs[0]);
        var iff = m.Op("If", [cond], Ir.Attribute.GraphValue("then_branch", thenBranch), Ir.Attribute.GraphValue("else_branch", elseBranch));
        m.Output(iff.Outputs[0], DataType.Float, 2);

        var (result, before, after) = m.RunPass(new UnusedInitializerRemovalPass());

        Assert.False(result.Modified);
        Assert.NotNull(m.Graph.FindInitializer("k"));
        TinyModel.AssertSame(before, after);
    }
}
