using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class EinsumTransposeAbsorptionPassTests
{
    [Fact]
    public void Absorbs_an_operand_transpose_into_the_equation()
    {
        var m = new TinyModel();
        var q = m.Input("q", DataType.Float, 3, 5, 4);
        var kt = m.Input("kt", DataType.Float, 3, 4, 6);
        var k = m.Op("Transpose", [kt], Attribute.IntList("perm", [0, 2, 1]));
        k.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3, 6, 4]);
        var e = m.Op("Einsum", [q, k.Outputs[0]], Attribute.String("equation", "bid,bjd->bij"));
        m.Output(e.Outputs[0], DataType.Float, 3, 5, 6);

        var (result, before, after) = m.RunPass(new EinsumTransposeAbsorptionPass());

        Assert.Equal(1, result.Counters["operands"]);
        Assert.Equal(["Einsum"], m.Ops);
        Assert.Same(kt, m.Graph.Nodes[0].Input(1));
        Assert.Equal("bid,bdj->bij", m.Graph.Nodes[0].GetString("equation", ""));
        TinyModel.AssertSame(before, after, 1e-6);
    }

    [Fact]
    public void Absorbs_a_transpose_of_the_result_into_the_output_subscripts()
    {
        var m = new TinyModel();
        var a = m.Input("a", DataType.Float, 2, 3, 4);
        var b = m.Input("b", DataType.Float, 2, 4, 5);
        var e = m.Op("Einsum", [a, b], Attribute.String("equation", "bij,bjk->bik"));
        e.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 3, 5]);
        var t = m.Op("Transpose", [e.Outputs[0]], Attribute.IntList("perm", [2, 0, 1]));
        var y = m.Op("Relu", [t.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 5, 2, 3);

        var (result, before, after) = m.RunPass(new EinsumTransposeAbsorptionPass());

        Assert.Equal(1, result.Counters["outputs"]);
        Assert.Equal(["Einsum", "Relu"], m.Ops);
        Assert.Equal("bij,bjk->kbi", m.Graph.Nodes[0].GetString("equation", ""));
        TinyModel.AssertSame(before, after, 1e-6);
    }

    [Fact]
    public void Leaves_an_einsum_fed_by_other_ops_alone()
    {
        var m = new TinyModel();
        var a = m.Input("a", DataType.Float, 2, 3);
        var b = m.Input("b", DataType.Float, 3, 4);
        var r = m.Op("Relu", [b]);
        var e = m.Op("Einsum", [a, r.Outputs[0]], Attribute.String("equation", "ij,jk->ik"));
        m.Output(e.Outputs[0], DataType.Float, 2, 4);

        Assert.False(new EinsumTransposeAbsorptionPass().Run(m.Model).Modified);
    }
}
