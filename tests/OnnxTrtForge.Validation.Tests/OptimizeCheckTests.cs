using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Rewrites;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Validation.Tests;

public sealed class OptimizeCheckTests
{
    /// <summary>y = x · w over a [2, 8] input; the "optimized" copy may carry a different w.</summary>
    private static string Scale(string folder, string name, DataType type, float w)
    {
        var graph = new Graph("scale");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        var x = graph.AddInput("x", TypeInfo.OfTensor(type, [2, 8]));
        var weight = type == DataType.Float16
            ? Tensor.FromArray(DataType.Float16, [1], new[] { (Half)w })
            : Tensor.FromFloats([1], [w]);
        var mul = graph.Create("Mul", [x, graph.AddInitializer(weight, "w")]);
        mul.Outputs[0].Type = TypeInfo.OfTensor(type, [2, 8]);
        graph.Outputs.Add(mul.Outputs[0]);
        var path = Path.Combine(folder, name);
        OnnxWriter.Save(model, path);
        return path;
    }

    [Fact]
    public void Passes_identical_models_and_fails_a_relative_error_above_the_fp32_tolerance()
    {
        using var dir = Fixtures.Temp();
        var original = Scale(dir.Path, "a.onnx", DataType.Float, 1f);

        var same = OptimizeCheck.Run(original, Scale(dir.Path, "b.onnx", DataType.Float, 1f));
        var off = OptimizeCheck.Run(original, Scale(dir.Path, "c.onnx", DataType.Float, 1.001f));

        Assert.True(same.Passed);
        Assert.Equal("original model", same.Reference);
        Assert.Equal(0, same.Outputs.Single().RelativeL2);
        Assert.False(off.Passed);
        Assert.InRange(off.Outputs.Single().RelativeL2, 0.9e-3, 1.1e-3);
    }

    [Fact]
    public void Uses_the_fp16_tolerance_for_fp16_outputs_and_fails_nan_where_the_original_is_finite()
    {
        using var dir = Fixtures.Temp();
        var original = Scale(dir.Path, "a.onnx", DataType.Float16, 1f);

        var close = OptimizeCheck.Run(original, Scale(dir.Path, "b.onnx", DataType.Float16, 1.001f));
        var nan = OptimizeCheck.Run(original, Scale(dir.Path, "c.onnx", DataType.Float16, float.NaN));

        Assert.True(close.Passed);
        Assert.Equal(2e-3, close.Outputs.Single().Tolerance);
        Assert.False(nan.Passed);
        Assert.True(nan.Outputs.Single().NonFinite);
    }

    [Fact]
    public void Compares_with_the_rewritten_original_when_the_original_has_an_aten_node_and_no_stored_outputs()
    {
        using var dir = Fixtures.Temp();
        var graph = new Graph("aten");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        model.OpsetImports[AtenBroadcastToExpand.AtenDomain] = 1;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [1, 4]));
        var size = graph.AddInitializer(Tensor.FromInt64s([2], [3, -1]), "size");
        var aten = graph.Append(new Node(AtenBroadcastToExpand.AtenDomain, "ATen", [x, size], ["y"], [Attribute.String("operator", "broadcast_to")], "aten"));
        aten.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3, 4]);
        graph.Outputs.Add(aten.Outputs[0]);
        var original = Path.Combine(dir.Path, "original.onnx");
        OnnxWriter.Save(model, original);
        var optimized = Path.Combine(dir.Path, "optimized.onnx");
        new Core.Passes.RewriteRulesPass(RewriteRuleRegistry.All()).Run(model);
        OnnxWriter.Save(model, optimized);

        var result = OptimizeCheck.Run(original, optimized);

        Assert.True(result.Passed);
        Assert.Equal("original after rewrite rules", result.Reference);
        Assert.Contains(result.Notes, n => n.Contains("does not load", StringComparison.Ordinal));
    }

    /// <summary>y = x · w reshaped to <paramref name="shape"/>, so outputs can differ in shape as well as value.</summary>
    private static Model ScaleModel(float w, long[] shape)
    {
        var graph = new Graph("scale");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var mul = graph.Create("Mul", [x, graph.AddInitializer(Tensor.FromFloats([8], Enumerable.Repeat(w, 8).ToArray()), "w")]);
        var reshape = graph.Create("Reshape", [mul.Outputs[0], graph.AddInitializer(Tensor.FromInt64s([shape.Length], shape), "shape")]);
        reshape.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, shape);
        graph.Outputs.Add(reshape.Outputs[0]);
        return model;
    }

    private static string Save(Model model, string path)
    {
        OnnxWriter.Save(model, path);
        return path;
    }

    [Fact]
    public void Fails_an_output_whose_shape_differs_even_when_every_value_matches()
    {
        using var dir = Fixtures.Temp();
        var original = Save(ScaleModel(1f, [2, 8]), dir.File("a.onnx"));

        var result = OptimizeCheck.Run(original, Save(ScaleModel(1f, [16]), dir.File("b.onnx")));

        Assert.False(result.Passed);
        Assert.Contains(result.Notes, n => n.Contains("has shape [16], the original [2,8]", StringComparison.Ordinal));
    }

    [Fact]
    public void Nan_where_the_original_has_nan_agrees_and_a_finite_value_there_fails()
    {
        var want = new OptimizeCheck.Output(DataType.Float, [3], [1, double.NaN, double.PositiveInfinity]);
        var options = new OptimizeCheckOptions();

        var same = OptimizeCheck.Compare("s", "y", new OptimizeCheck.Output(DataType.Float, [3], [1, double.NaN, double.PositiveInfinity]), want, options);
        var madeFinite = OptimizeCheck.Compare("s", "y", new OptimizeCheck.Output(DataType.Float, [3], [1, 0, double.PositiveInfinity]), want, options);
        var flipped = OptimizeCheck.Compare("s", "y", new OptimizeCheck.Output(DataType.Float, [3], [1, double.NaN, double.NegativeInfinity]), want, options);
        var newNan = OptimizeCheck.Compare("s", "y", new OptimizeCheck.Output(DataType.Float, [3], [double.NaN, double.NaN, double.PositiveInfinity]), want, options);

        Assert.True(same.Passed);
        Assert.False(madeFinite.Passed);
        Assert.True(madeFinite.NonFinite);
        Assert.False(flipped.Passed);
        Assert.False(newNan.Passed);
        Assert.True(newNan.NonFinite);
    }

    [Fact]
    public void An_original_onnx_runtime_cannot_load_is_the_inputs_fault_with_onnx_runtimes_reason()
    {
        using var dir = Fixtures.Temp();
        var graph = new Graph("custom");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        model.OpsetImports["com.example"] = 1;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2]));
        var node = graph.Append(new Node("com.example", "Mystery", [x], ["y"], [], "mystery"));
        node.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2]);
        graph.Outputs.Add(node.Outputs[0]);
        var original = Save(model, dir.File("original.onnx"));

        var e = Assert.Throws<ForgeInputException>(() => OptimizeCheck.Run(original, original));

        Assert.Contains("cannot run the original model", e.Message, StringComparison.Ordinal);
        Assert.Contains("Mystery", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_optimized_model_that_fails_the_check_never_reaches_the_output_and_is_kept_under_the_rejected_name()
    {
        using var dir = Fixtures.Temp();
        var original = Save(ScaleModel(1f, [2, 8]), dir.File("a.onnx"));
        using var wrong = ScaleModel(1.5f, [2, 8]);
        using var right = ScaleModel(1f, [2, 8]);

        var rejected = CheckedOutput.Save(wrong, original, dir.File("out/b.onnx"), null, null);
        var accepted = CheckedOutput.Save(right, original, dir.File("out/c.onnx"), null, null);

        Assert.False(rejected.Passed);
        Assert.False(File.Exists(dir.File("out/b.onnx")));
        Assert.Equal(dir.File("out/b.rejected.onnx"), rejected.Saved.ModelPath);
        Assert.True(File.Exists(dir.File("out/b.rejected.onnx")));
        Assert.True(accepted.Passed);
        Assert.True(File.Exists(dir.File("out/c.onnx")));
        Assert.Equal(["b.rejected.onnx", "c.onnx"], Directory.GetFileSystemEntries(dir.File("out")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_checked_model_with_external_data_lands_with_its_data_file_named_after_the_output()
    {
        using var dir = Fixtures.Temp();
        var original = Save(ScaleModel(1f, [2, 8]), dir.File("a.onnx"));
        using var model = ScaleModel(1f, [2, 8]);

        var saved = CheckedOutput.Save(model, original, dir.File("b.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Always, ExternalThreshold = 24 }, null);

        Assert.True(saved.Passed);
        Assert.Equal(dir.File("b.onnx.data"), saved.Saved.DataPath);
        Assert.True(OptimizeCheck.Run(original, dir.File("b.onnx")).Passed);
    }
}
