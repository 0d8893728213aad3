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
    public void Keeps_the_rank_and_known_dims_through_a_reshape_to_the_shape_of_a_dynamic_tensor()
    {
        // GroupNorm's way back: Reshape(normalized, Shape(x)) with x of dynamic batch.
        var m = new TinyModel();
        var x = m.Graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("batch"), Dim.Of(4), Dim.Of(3), Dim.Of(3)]));
        var grouped = m.Op("Reshape", [x, m.Int64s("g", 0, 2, -1)]);
        var norm = m.Op("InstanceNormalization", [grouped.Outputs[0], m.Floats("s", [2], 1, 1), m.Floats("b", [2], 0, 0)]);
        var shape = m.Op("Shape", [x]);
        var back = m.Op("Reshape", [norm.Outputs[0], shape.Outputs[0]]);

        new ShapeInferencePass().Run(m.Model);

        Assert.Equal([Dim.Unknown, Dim.Of(2), Dim.Unknown], grouped.Outputs[0].Type!.Shape!);
        Assert.Equal([Dim.Unknown, Dim.Of(4), Dim.Of(3), Dim.Of(3)], back.Outputs[0].Type!.Shape!);
    }
}
