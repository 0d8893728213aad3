using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ShapeInferencePassTests
{
    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(18)]
    public void Infers_the_shapes_onnx_runtime_computes_for_an_attention_like_graph(long opset)
    {
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 2, 4, 6, 6);
        var conv = m.Op("Conv", [x, m.Floats("w", [8, 4, 3, 3], new float[8 * 4 * 9]), m.Floats("bias", [8], new float[8])],
            Attribute.IntList("kernel_shape", [3, 3]), Attribute.IntList("pads", [1, 1, 1, 1]), Attribute.IntList("strides", [2, 2]));
        var t = m.Op("Transpose", [conv.Outputs[0]], Attribute.IntList("perm", [0, 2, 3, 1]));
        var r = m.Op("Reshape", [t.Outputs[0], m.Int64s("s", 0, -1, 8)]);
        var q = m.Op("MatMul", [r.Outputs[0], m.Floats("wq", [8, 4], new float[32])]);
        var e = m.Op("Einsum", [q.Outputs[0], q.Outputs[0]], Attribute.String("equation", "bid,bjd->bij"));
        var soft = m.Op("Softmax", [e.Outputs[0]], Attribute.Int("axis", -1));
        var axes = opset >= 18 ? m.Op("ReduceMean", [soft.Outputs[0], m.Int64s("raxes", -1)]) : m.Op("ReduceMean", [soft.Outputs[0]], Attribute.IntList("axes", [-1]));
        var unsq = opset >= 13 ? m.Op("Unsqueeze", [axes.Outputs[0], m.Int64s("uaxes", 0)]) : m.Op("Unsqueeze", [axes.Outputs[0]], Attribute.IntList("axes", [0]));
        var slice = m.Op("Slice", [unsq.Outputs[0], m.Int64s("st", 1), m.Int64s("en", 100), m.Int64s("ax", 3)]);
        var gather = m.Op("Gather", [slice.Outputs[0], m.Int64s("idx", 0, 0)], Attribute.Int("axis", 1));
        var split = opset >= 18
            ? m.Op("Split", [q.Outputs[0]], 2, Attribute.Int("axis", 2), Attribute.Int("num_outputs", 2))
            : m.Op("Split", [q.Outputs[0]], 2, Attribute.Int("axis", 2));
        var cat = m.Op("Concat", [split.Outputs[1], split.Outputs[0], q.Outputs[0]], Attribute.Int("axis", 2));
        var gemm = m.Op("Gemm", [m.Floats("ga", [3, 5], new float[15]), m.Floats("gb", [4, 5], new float[20])], Attribute.Int("transB", 1));
        var outputs = new[] { conv, t, r, q, e, soft, axes, unsq, slice, gather, split, cat, gemm }.SelectMany(n => n.Outputs).ToList();

        new ShapeInferencePass().Run(m.Model);

        var inferred = outputs.Select(v => v.Type?.StaticDims).ToList();
        foreach (var v in outputs)
        {
            m.Graph.Outputs.Add(v);
        }

        var actual = m.RunOrt(m.RandomInputs());
        for (var i = 0; i < outputs.Count; i++)
        {
            Assert.True(inferred[i] is not null, $"no static shape for {outputs[i].Name}");
            Assert.Equal(actual[i].Dims, inferred[i]!);
            Assert.Equal(actual[i].Type, outputs[i].Type!.ElementType);
        }
    }

    [Fact]
    public void Recovers_every_shape_the_dynamo_exporter_recorded()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_dynamo18_fp32"));
        var values = model.Graph.Nodes.SelectMany(n => n.Outputs).Where(v => v.Type is not null).ToList();
        var recorded = values.ToDictionary(v => v, v => v.Type!);
        foreach (var v in values)
        {
            v.Type = null;
        }

        new ShapeInferencePass().Run(model);

        Assert.All(values, v => Assert.Equal(recorded[v], v.Type));
    }

    [Fact]
    public void Keeps_a_static_shape_that_is_already_recorded()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var y = m.Op("Relu", [x]);
        y.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 3]);
        var z = m.Op("Unknown", [y.Outputs[0]]);
        z.Domain = "com.example";

        var result = new ShapeInferencePass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Null(z.Outputs[0].Type);
    }

    [Fact]
    public void Keeps_the_symbolic_batch_and_computes_the_other_dims_through_group_norm_reshapes()
    {
        // GroupNorm's way back: Reshape(normalized, Shape(x)) with x of dynamic batch.
        var m = new TinyModel();
        var x = m.Graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("batch"), Dim.Of(4), Dim.Of(3), Dim.Of(3)]));
        var grouped = m.Op("Reshape", [x, m.Int64s("g", 0, 2, -1)]);
        var norm = m.Op("InstanceNormalization", [grouped.Outputs[0], m.Floats("s", [2], 1, 1), m.Floats("b", [2], 0, 0)]);
        var shape = m.Op("Shape", [x]);
        var back = m.Op("Reshape", [norm.Outputs[0], shape.Outputs[0]]);

        new ShapeInferencePass().Run(m.Model);

        // [batch, 2, -1] holds 36·batch elements: the -1 is 18 whatever the batch
        Assert.Equal([Dim.Symbol("batch"), Dim.Of(2), Dim.Of(18)], grouped.Outputs[0].Type!.Shape!);
        Assert.Equal([Dim.Symbol("batch"), Dim.Of(4), Dim.Of(3), Dim.Of(3)], back.Outputs[0].Type!.Shape!);
    }

    [Fact]
    public void A_stale_declared_shape_is_dropped_and_counted_so_a_real_reshape_is_kept()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 4, 4);
        var reshape = m.Op("Reshape", [x, m.Int64s("target", 2, 8)]);
        reshape.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [4L, 4]);
        var shape = m.Op("Shape", [reshape.Outputs[0]]);
        m.Output(shape.Outputs[0], DataType.Int64, 2);
        m.Output(reshape.Outputs[0], DataType.Float, 4, 4);

        var result = new ShapeInferencePass().Run(m.Model);

        Assert.Equal(1, result.Counters["declarations-dropped"]);
        Assert.Equal([2L, 8], reshape.Outputs[0].Type!.StaticDims!);
        Assert.Contains(result.Notes, n => n.Contains("contradicted", StringComparison.Ordinal));
        Optimizer.Optimize(m.Model);
        Assert.Contains("Reshape", m.Ops);
        var output = m.RunOrt(m.RandomInputs());
        Assert.Equal([2L, 8], output[0].ToInt64Array());
        Assert.Equal([2L, 8], output[1].Dims);
    }

    /// <summary>Fuzz seed 7 case 5944: a stale value_info on a value whose producer inference cannot (yet) compute
    /// was folded into a Shape constant, and the output failed in ONNX Runtime at a Gather.</summary>
    [Fact]
    public void A_declared_shape_inference_cannot_compute_is_never_folded_into_a_shape_constant()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3);
        var hardmax = m.Op("Hardmax", [x]); // an op without a shape function in the table: its output stays uncomputed
        hardmax.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [1L, 4]); // the file's stale value_info
        var shape = m.Op("Shape", [hardmax.Outputs[0]]);
        m.Output(shape.Outputs[0], DataType.Int64, 2);
        using var temp = Fixtures.Temp();
        OnnxWriter.Save(m.Model, temp.File("declared.onnx"));
        using var model = OnnxReader.Load(temp.File("declared.onnx"));
        Assert.True(model.Graph.Nodes.Single(n => n.OpType == "Hardmax").Outputs[0].ShapeUnconfirmed);

        Optimizer.Optimize(model);

        Assert.Contains(model.Graph.Nodes, n => n.OpType == "Shape");
        OnnxWriter.Save(model, temp.File("optimized.onnx"));
        var output = OrtRunner.Run(temp.File("optimized.onnx"), [TinyModel.Random(TypeInfo.OfTensor(DataType.Float, [2L, 3]), 1)]);
        Assert.Equal([2L, 3], output[0].ToInt64Array());
    }

    /// <summary>Rewrites act on known shapes only: a declaration inference cannot confirm never makes a Reshape look like a no-op.</summary>
    [Fact]
    public void A_reshape_whose_input_only_a_stale_declaration_gives_the_target_shape_is_kept()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 3, 2);
        var hardmax = m.Op("Hardmax", [x]); // no shape function in the table: its output stays uncomputed
        hardmax.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2L, 3]); // the file's stale value_info
        var reshape = m.Op("Reshape", [hardmax.Outputs[0], m.Int64s("target", 2, 3)]);
        var relu = m.Op("Relu", [reshape.Outputs[0]]);
        m.Output(relu.Outputs[0], DataType.Float, 2, 3);
        using var temp = Fixtures.Temp();
        OnnxWriter.Save(m.Model, temp.File("declared.onnx"));
        using var model = OnnxReader.Load(temp.File("declared.onnx"));

        Optimizer.Optimize(model);

        Assert.Contains(model.Graph.Nodes, n => n.OpType == "Reshape");
        OnnxWriter.Save(model, temp.File("optimized.onnx"));
        var output = OrtRunner.Run(temp.File("optimized.onnx"), [TinyModel.Random(TypeInfo.OfTensor(DataType.Float, [3L, 2]), 1)]);
        Assert.Equal([2L, 3], output[0].Dims);
    }

    [Theory]
    [InlineData(3, 5)]
    [InlineData(-1, 3)]
    public void A_reshape_target_that_cannot_hold_its_input_is_bad_input_naming_node_and_shapes(long a, long b)
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 4, 4);
        var reshape = m.Op("Reshape", [x, m.Int64s("target", a, b)]);
        m.Output(reshape.Outputs[0], DataType.Float, 4, 4);

        var e = Assert.Throws<ForgeInputException>(() => new ShapeInferencePass().Run(m.Model));

        Assert.Contains($"'{reshape.Name}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4,4]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Concat_of_inputs_with_different_fixed_dims_is_bad_input()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3);
        var y = m.Input("y", DataType.Float, 2, 4);
        var cat = m.Op("Concat", [x, y], Attribute.Int("axis", 0));
        m.Graph.Outputs.Add(cat.Outputs[0]);

        var e = Assert.Throws<ForgeInputException>(() => new ShapeInferencePass().Run(m.Model));

        Assert.Contains("[2,3] vs [2,4]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_validator_refuses_a_declared_shape_that_the_node_does_not_compute()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3);
        var relu = m.Op("Relu", [x]);
        relu.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3L, 2]);
        m.Graph.Outputs.Add(relu.Outputs[0]);

        var e = Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model));

        Assert.Contains($"'{relu.Name}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slice_lengths_with_extreme_steps_do_not_wrap()
    {
        Assert.Equal(1, OnnxTrtForge.Core.Evaluation.ShapeMath.SliceRange(10, 0, long.MaxValue, long.MaxValue).Count);
        Assert.Equal(1, OnnxTrtForge.Core.Evaluation.ShapeMath.SliceRange(10, -1, long.MinValue, long.MinValue).Count);
        Assert.Equal(10, OnnxTrtForge.Core.Evaluation.ShapeMath.SliceRange(10, long.MaxValue, long.MinValue, -1).Count);
    }
}
