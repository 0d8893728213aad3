using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ConstantFoldingPassTests
{
    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    public void Collapses_an_exporter_shape_chain_of_a_static_input_into_a_constant_reshape_target(long opset)
    {
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 2, 3, 4);
        var shape = m.Op("Shape", [x]);
        var gather = m.Op("Gather", [shape.Outputs[0], m.Const(Tensor.Scalar(0), "zero")], Attribute.Int("axis", 0));
        var unsqueeze = opset >= 13 ? m.Op("Unsqueeze", [gather.Outputs[0], m.Int64s("axes", 0)]) : m.Op("Unsqueeze", [gather.Outputs[0]], Attribute.IntList("axes", [0]));
        var concat = m.Op("Concat", [unsqueeze.Outputs[0], m.Int64s("rest", -1)], Attribute.Int("axis", 0));
        var reshape = m.Op("Reshape", [x, concat.Outputs[0]]);
        m.Output(reshape.Outputs[0], DataType.Float, 2, 12);

        var (result, before, after) = m.RunPass(new ConstantFoldingPass());

        Assert.Equal(4, result.Counters["folded"]);
        Assert.Equal(["Reshape"], m.Ops);
        Assert.Equal([2L, -1], m.Graph.Nodes[0].Input(1)!.Initializer!.ToInt64Array());
        Assert.DoesNotContain(m.Graph.Initializers, v => v.Name is "zero" or "axes" or "rest");
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Folds_arithmetic_on_constants_with_the_element_type_s_rounding()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float16, 3);
        var a = m.Const(Tensor.FromFloats([3], [1f / 3, 2.5f, 1e-3f]), "a");
        var cast = m.Op("Cast", [a], Attribute.Int("to", (long)DataType.Float16));
        var sqrt = m.Op("Sqrt", [cast.Outputs[0]]);
        var mul = m.Op("Mul", [x, sqrt.Outputs[0]]);
        m.Output(mul.Outputs[0], DataType.Float16, 3);

        var (result, before, after) = m.RunPass(new ConstantFoldingPass());

        Assert.Equal(2, result.Counters["folded"]);
        Assert.Equal(["Mul"], m.Ops);
        // Folding rounds correctly, but ORT's fp16 Mul rounds differently when an operand is an initializer
        // rather than a computed value (see CastCleanupPassTests), so the comparison allows fp16 rounding.
        TinyModel.AssertSame(before, after, 2e-3);
    }

    [Fact]
    public void Never_folds_an_output_above_the_byte_limit()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 64, 64);
        var big = m.Op("ConstantOfShape", [m.Int64s("dims", 64, 64)], Attribute.TensorValue("value", Tensor.FromFloats([1], [2f])));
        var add = m.Op("Add", [x, big.Outputs[0]]);
        m.Output(add.Outputs[0], DataType.Float, 64, 64);

        var result = new ConstantFoldingPass(new ConstantFoldingOptions(MaxOutputBytes: 1024)).Run(m.Model);

        Assert.Equal(1, result.Counters["skipped-size"]);
        Assert.Equal(["ConstantOfShape", "Add"], m.Ops);
    }

    [Fact]
    public void Never_grows_the_model_beyond_the_growth_bound()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 16, 16);
        var row = m.Floats("row", [1, 16], Enumerable.Range(0, 16).Select(i => (float)i).ToArray());
        var expand = m.Op("Expand", [row, m.Int64s("to", 16, 16)]);
        var keep = m.Op("Mul", [row, row]);
        var add = m.Op("Add", [x, expand.Outputs[0]]);
        var add2 = m.Op("Add", [add.Outputs[0], keep.Outputs[0]]);
        m.Output(add2.Outputs[0], DataType.Float, 16, 16);

        var result = new ConstantFoldingPass(new ConstantFoldingOptions(MinGrowthBytes: 256, MaxGrowthFraction: 0)).Run(m.Model);

        // Expand would add 1 KiB (its input stays in use), over the 256-byte bound; Mul adds 64 bytes.
        Assert.Equal(1, result.Counters["folded"]);
        Assert.Contains("Expand", m.Ops);
        Assert.DoesNotContain("Mul", m.Ops);
    }

    [Fact]
    public void Leaves_random_ops_and_unknown_domains_alone()
    {
        var m = new TinyModel();
        m.Model.OpsetImports["com.example"] = 1;
        var x = m.Input("x", DataType.Float, 2);
        var random = m.Op("RandomUniform", [], Attribute.IntList("shape", [2]), Attribute.Int("dtype", 1));
        var custom = m.Graph.Create("Twice", [m.Floats("c", [2], 1, 2)], domain: "com.example");
        var add = m.Op("Add", [x, random.Outputs[0]]);
        var add2 = m.Op("Add", [add.Outputs[0], custom.Outputs[0]]);
        m.Output(add2.Outputs[0], DataType.Float, 2);

        var result = new ConstantFoldingPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(4, m.Ops.Count);
    }

    [Fact]
    public void Does_not_fold_a_node_whose_output_is_a_graph_output()
    {
        var m = new TinyModel();
        var add = m.Op("Add", [m.Floats("a", [2], 1, 2), m.Floats("b", [2], 3, 4)]);
        m.Output(add.Outputs[0], DataType.Float, 2);

        Assert.False(new ConstantFoldingPass().Run(m.Model).Modified);
        Assert.Equal(["Add"], m.Ops);
    }

    [Fact]
    public void Folds_every_shape_op_of_the_fixtures_and_reports_no_op_without_an_evaluator()
    {
        foreach (var name in OnnxTrtForge.Testing.Fixtures.Models)
        {
            using var model = OnnxTrtForge.Core.Serialization.OnnxReader.Load(OnnxTrtForge.Testing.Fixtures.Model(name));
            new ConstantLiftingPass().Run(model);
            new RewriteRulesPass().Run(model);
            var result = new ConstantFoldingPass().Run(model);

            Assert.DoesNotContain(model.Graph.Nodes, n => n.OpType is "Shape" or "Constant" or "ConstantOfShape" or "Gather" or "Identity");
            Assert.Empty(result.Notes);
        }
    }

    [Fact]
    public void Leaves_a_model_alone_when_a_subgraph_returns_an_outer_value()
    {
        var m = new TinyModel();
        var cond = m.Input("cond", DataType.Bool);
        var sum = m.Op("Add", [m.Floats("a", [2], 1, 2), m.Floats("b", [2], 3, 4)]);
        var thenBranch = new Graph("then", m.Graph);
        thenBranch.Outputs.Add(sum.Outputs[0]);
        var elseBranch = new Graph("else", m.Graph);
        var neg = elseBranch.Create("Neg", [sum.Outputs[0]]);
        elseBranch.Outputs.Add(neg.Outputs[0]);
        var branch = m.Op("If", [cond], Attribute.GraphValue("then_branch", thenBranch), Attribute.GraphValue("else_branch", elseBranch));
        m.Output(branch.Outputs[0], DataType.Float, 2);

        var result = new ConstantFoldingPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Single(result.Notes);
        Assert.Equal(["Add", "If"], m.Ops);
    }

    [Fact]
    public void Folds_shape_math_that_reads_only_the_known_dims_of_a_dynamic_batch_input()
    {
        var m = new TinyModel();
        var x = m.Graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("batch"), Dim.Of(3), Dim.Of(4)]));
        var shape = m.Op("Shape", [x]);
        var channels = m.Op("Gather", [shape.Outputs[0], m.Const(Tensor.Scalar(1), "one")], Attribute.Int("axis", 0));
        var width = m.Op("Gather", [shape.Outputs[0], m.Const(Tensor.Scalar(-1), "last")], Attribute.Int("axis", 0));
        var area = m.Op("Mul", [channels.Outputs[0], width.Outputs[0]]);
        var unsqueeze = m.Op("Unsqueeze", [area.Outputs[0], m.Int64s("axes", 0)]);
        var target = m.Op("Concat", [m.Int64s("minus_one", -1), unsqueeze.Outputs[0]], Attribute.Int("axis", 0));
        var reshape = m.Op("Reshape", [x, target.Outputs[0]]);
        reshape.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("batch"), Dim.Of(12)]);
        m.Graph.Outputs.Add(reshape.Outputs[0]);
        var inputs = new[] { TinyModel.Random(TypeInfo.OfTensor(DataType.Float, [5, 3, 4]), 1) };
        var before = m.RunOrt(inputs);

        var result = new ConstantFoldingPass().Run(m.Model);

        // The Shape itself stays (dead now, for remove-dead-nodes); the math on its known dims is gone.
        Assert.DoesNotContain(m.Ops, o => o is "Gather" or "Mul" or "Unsqueeze" or "Concat");
        Assert.Equal([-1L, 12], m.Graph.Nodes.Single(n => n.OpType == "Reshape").Input(1)!.Initializer!.ToInt64Array());
        Assert.True(result.Counters["folded"] >= 4);
        TinyModel.AssertSame(before, m.RunOrt(inputs));
    }
}
