using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ReshapeChainPassTests
{
    [Fact]
    public void Merges_two_reshapes_into_one_with_the_static_result_shape()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3, 4);
        var a = m.Op("Reshape", [x, m.Int64s("s1", 6, 4)]);
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [6, 4]);
        var b = m.Op("Reshape", [a.Outputs[0], m.Int64s("s2", 3, -1)]);
        b.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3, 8]);
        var y = m.Op("Relu", [b.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 3, 8);

        var (result, before, after) = m.RunPass(new ReshapeChainPass());

        Assert.Equal(1, result.Counters["reshapes-merged"]);
        Assert.Equal(["Reshape", "Relu"], m.Ops);
        var reshape = m.Graph.Nodes[0];
        Assert.Same(x, reshape.Input(0));
        Assert.Equal([3L, 8L], reshape.Input(1)!.Initializer!.ToInt64Array());
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Removes_a_reshape_to_the_shape_the_value_already_has()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 5);
        var a = m.Op("Reshape", [x, m.Int64s("s", 0, -1)]);
        a.Outputs[0].Type = x.Type;
        var y = m.Op("Exp", [a.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 2, 5);

        var (result, before, after) = m.RunPass(new ReshapeChainPass());

        Assert.Equal(1, result.Counters["no-op-reshapes"]);
        Assert.Equal(["Exp"], m.Ops);
        TinyModel.AssertSame(before, after);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    public void Merges_two_unsqueezes_into_one_in_the_opset_s_own_spelling(long opset)
    {
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 2, 8);
        var a = opset >= 13 ? m.Op("Unsqueeze", [x, m.Int64s("a2", 2)]) : m.Op("Unsqueeze", [x], Attribute.IntList("axes", [2]));
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 8, 1]);
        var b = opset >= 13 ? m.Op("Unsqueeze", [a.Outputs[0], m.Int64s("a3", 3)]) : m.Op("Unsqueeze", [a.Outputs[0]], Attribute.IntList("axes", [3]));
        b.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 8, 1, 1]);
        var y = m.Op("Add", [b.Outputs[0], m.Input("z", DataType.Float, 2, 8, 4, 4)]);
        m.Output(y.Outputs[0], DataType.Float, 2, 8, 4, 4);

        var (result, before, after) = m.RunPass(new ReshapeChainPass());

        Assert.Equal(1, result.Counters["reshapes-merged"]);
        Assert.Equal(["Unsqueeze", "Add"], m.Ops);
        var axes = opset >= 13 ? m.Graph.Nodes[0].Input(1)!.Initializer!.ToInt64Array() : m.Graph.Nodes[0].GetInts("axes")!.ToArray();
        Assert.Equal([2L, 3L], axes);
        TinyModel.AssertSame(before, after);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    public void Merges_two_unsqueezes_over_symbolic_dims_by_their_axes_alone(long opset)
    {
        // x [batch, 8] → Unsqueeze(-1) → Unsqueeze(0): one Unsqueeze with axes [0, 3], whatever the batch
        var m = new TinyModel(opset);
        var x = m.Graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("batch"), Dim.Of(8)]));
        var a = opset >= 13 ? m.Op("Unsqueeze", [x, m.Int64s("a1", -1)]) : m.Op("Unsqueeze", [x], Attribute.IntList("axes", [-1]));
        var b = opset >= 13 ? m.Op("Unsqueeze", [a.Outputs[0], m.Int64s("a2", 0)]) : m.Op("Unsqueeze", [a.Outputs[0]], Attribute.IntList("axes", [0]));
        var y = m.Op("Relu", [b.Outputs[0]]).Outputs[0];
        y.Type = TypeInfo.OfTensor(DataType.Float, [Dim.Of(1), Dim.Symbol("batch"), Dim.Of(8), Dim.Of(1)]);
        m.Graph.Outputs.Add(y);
        var inputs = new[] { 1L, 3 }.Select(n => new[] { OrtRunner.RandomFloats([n, 8], (int)n) }).ToList();
        var before = inputs.Select(m.RunOrt).ToList();

        var result = new ReshapeChainPass().Run(m.Model);

        Assert.Equal(1, result.Counters["reshapes-merged"]);
        Assert.Equal(["Unsqueeze", "Relu"], m.Ops);
        var axes = opset >= 13 ? m.Graph.Nodes[0].Input(1)!.Initializer!.ToInt64Array() : m.Graph.Nodes[0].GetInts("axes")!.ToArray();
        Assert.Equal([0L, 3L], axes);
        for (var i = 0; i < inputs.Count; i++)
        {
            TinyModel.AssertSame(before[i], m.RunOrt(inputs[i]));
        }
    }

    [Fact]
    public void Keeps_two_unsqueezes_when_the_rank_of_their_input_is_unknown()
    {
        var m = new TinyModel(13);
        var x = m.Graph.AddInput("x", TypeInfo.OfTensor(DataType.Float));
        var a = m.Op("Unsqueeze", [x, m.Int64s("a1", -1)]);
        var b = m.Op("Unsqueeze", [a.Outputs[0], m.Int64s("a2", 0)]);
        m.Graph.Outputs.Add(b.Outputs[0]);

        var result = new ReshapeChainPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(["Unsqueeze", "Unsqueeze"], m.Ops);
    }

    [Fact]
    public void Composes_two_transposes_into_one()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3, 4, 5);
        var a = m.Op("Transpose", [x], Attribute.IntList("perm", [0, 2, 1, 3]));
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 4, 3, 5]);
        var b = m.Op("Transpose", [a.Outputs[0]], Attribute.IntList("perm", [3, 0, 2, 1]));
        var y = m.Op("Neg", [b.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 5, 2, 3, 4);

        var (result, before, after) = m.RunPass(new ReshapeChainPass());

        Assert.Equal(1, result.Counters["transposes"]);
        Assert.Equal(["Transpose", "Neg"], m.Ops);
        Assert.Equal([3L, 0, 1, 2], m.Graph.Nodes[0].GetInts("perm")!.ToArray());
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Removes_a_transpose_pair_that_cancels_and_an_identity_transpose()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3, 4);
        var a = m.Op("Transpose", [x], Attribute.IntList("perm", [1, 2, 0]));
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3, 4, 2]);
        var b = m.Op("Transpose", [a.Outputs[0]], Attribute.IntList("perm", [2, 0, 1]));
        b.Outputs[0].Type = x.Type;
        var c = m.Op("Transpose", [b.Outputs[0]], Attribute.IntList("perm", [0, 1, 2]));
        var y = m.Op("Sin", [c.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 2, 3, 4);

        var (_, before, after) = m.RunPass(new ReshapeChainPass());

        Assert.Equal(["Sin"], m.Ops);
        Assert.Same(x, m.Graph.Nodes[0].Input(0));
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Treats_a_transpose_that_only_moves_unit_axes_as_a_reshape_and_merges_it()
    {
        // One attention head: [1,64,32] → Reshape [1,64,1,32] → Transpose(0,2,1,3) → [1,1,64,32].
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 1, 64, 32);
        var a = m.Op("Reshape", [x, m.Int64s("s", 1, 64, 1, -1)]);
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [1, 64, 1, 32]);
        var t = m.Op("Transpose", [a.Outputs[0]], Attribute.IntList("perm", [0, 2, 1, 3]));
        t.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [1, 1, 64, 32]);
        var y = m.Op("Softmax", [t.Outputs[0]], Attribute.Int("axis", -1));
        m.Output(y.Outputs[0], DataType.Float, 1, 1, 64, 32);

        var pass = new ReshapeChainPass();
        var (_, before, _) = m.RunPass(pass);
        pass.Run(m.Model);
        var after = m.RunOrt(m.RandomInputs());

        Assert.Equal(["Reshape", "Softmax"], m.Ops);
        Assert.Equal([1L, 1, 64, 32], m.Graph.Nodes[0].Input(1)!.Initializer!.ToInt64Array());
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Keeps_a_transpose_that_moves_data()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 1, 64, 2, 32);
        var t = m.Op("Transpose", [x], Attribute.IntList("perm", [0, 2, 1, 3]));
        t.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [1, 2, 64, 32]);
        var r = m.Op("Reshape", [t.Outputs[0], m.Int64s("s", 2, -1)]);
        m.Output(r.Outputs[0], DataType.Float, 2, 2048);

        Assert.False(new ReshapeChainPass().Run(m.Model).Modified);
        Assert.Equal(["Transpose", "Reshape"], m.Ops);
    }

    [Fact]
    public void Keeps_a_reshape_chain_whose_middle_value_has_another_reader()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 4, 6);
        var a = m.Op("Reshape", [x, m.Int64s("s1", 24)]);
        a.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [24]);
        var b = m.Op("Reshape", [a.Outputs[0], m.Int64s("s2", 6, 4)]);
        b.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [6, 4]);
        m.Output(b.Outputs[0], DataType.Float, 6, 4);
        var c = m.Op("Abs", [a.Outputs[0]]);
        m.Output(c.Outputs[0], DataType.Float, 24);

        Assert.False(new ReshapeChainPass().Run(m.Model).Modified);
        Assert.Equal(["Reshape", "Reshape", "Abs"], m.Ops);
    }
}
