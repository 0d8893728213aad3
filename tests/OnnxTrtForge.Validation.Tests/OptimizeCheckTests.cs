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
    public void Uses_the_fp16_tolerance_for_fp16_outputs_and_always_fails_nan()
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
}
