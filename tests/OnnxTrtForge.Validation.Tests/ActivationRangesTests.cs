using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Validation.Tests;

public sealed class ActivationRangesTests
{
    /// <summary>x[2,3] → Mul(x, 1000) → h → Add(h, 5) → y, saved to <paramref name="folder"/>/model.onnx.</summary>
    private static string Scaled(string folder, string op = "Mul")
    {
        var graph = new Graph("scaled");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 3]));
        var h = graph.Create(op, [x, graph.AddInitializer(Tensor.FromFloats([1], [1000f]), "k")], nameHint: "scale").Outputs[0];
        h.Name = "h";
        var y = graph.Create("Add", [h, graph.AddInitializer(Tensor.FromFloats([1], [5f]), "b")], nameHint: "shift").Outputs[0];
        y.Name = "y";
        y.Type = TypeInfo.OfTensor(DataType.Float, [2, 3]);
        graph.Outputs.Add(y);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.onnx");
        OnnxWriter.Save(model, path);
        return path;
    }

    [Fact]
    public void Measures_every_float_value_on_the_test_data_and_leaves_the_model_untouched()
    {
        using var dir = Fixtures.Temp();
        var path = Scaled(dir.File("m"));
        var set = Directory.CreateDirectory(Path.Combine(dir.File("m"), "test_data_set_0")).FullName;
        OnnxWriter.SaveTensor(Tensor.FromFloats([2, 3], [1f, -70f, 0.5f, 2f, 3f, -4f]), Path.Combine(set, "input_0.pb"));
        var bytes = File.ReadAllBytes(path);

        var result = ActivationRanges.Measure(path);

        Assert.Null(result.NotMeasured);
        Assert.Equal("test_data_set_0", result.Inputs);
        Assert.Equal(70000, result.Ranges["h"]);
        Assert.Equal(69995, result.Ranges["y"]);
        Assert.Equal(70000, result.Largest);
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Equal(["model.onnx", "test_data_set_0"], Directory.EnumerateFileSystemEntries(dir.File("m")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Without_test_data_the_seeded_inputs_of_the_check_are_used()
    {
        using var dir = Fixtures.Temp();
        var path = Scaled(dir.File("m"));

        var result = ActivationRanges.Measure(path, new ActivationRangeOptions { Seed = 3, ValuesPerRun = 1 });

        Assert.Equal("random-seed-3", result.Inputs);
        Assert.InRange(result.Ranges["h"], 1, 1000);
        Assert.Equal(result.Ranges["h"], ActivationRanges.Measure(path, new ActivationRangeOptions { Seed = 3 }).Ranges["h"]);
    }

    [Fact]
    public void A_model_onnx_runtime_cannot_load_is_not_measured_and_says_why()
    {
        using var dir = Fixtures.Temp();
        var path = Scaled(dir.File("m"), op: "NoSuchOp");

        var result = ActivationRanges.Measure(path);

        Assert.Empty(result.Ranges);
        Assert.NotNull(result.NotMeasured);
    }
}
