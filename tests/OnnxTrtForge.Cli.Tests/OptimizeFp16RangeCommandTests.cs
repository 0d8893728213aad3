using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Cli.Tests;

public sealed class OptimizeFp16RangeCommandTests
{
    /// <summary>
    /// A small CNN with large weights, written to <paramref name="folder"/>/model.onnx: x[1,3,8,8] → Conv(±60)
    /// → Relu → Conv(±200) → Relu → Transpose → Concat(·, ·) → Conv(±1e-4) → y. Every weight fits fp16; the
    /// second Conv's activations pass 65504. (Transpose and Concat have fp16 kernels on ONNX Runtime's CPU
    /// provider, which otherwise runs fp16 Conv/Relu in float32, so the overflow shows on CPU.)
    /// </summary>
    internal static string OverflowingCnn(string folder)
    {
        var graph = new Graph("cnn");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        var random = new Random(5);
        Value Conv(Value input, string name, long inC, long outC, float scale)
        {
            var n = (int)(outC * inC * 9);
            var w = Tensor.FromFloats([outC, inC, 3, 3], Enumerable.Range(0, n).Select(_ => (float)(((random.NextDouble() * 2) - 1) * scale)).ToArray());
            return graph.Create("Conv", [input, graph.AddInitializer(w, name)], attributes: [Attribute.IntList("pads", [1, 1, 1, 1])]).Outputs[0];
        }

        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [1, 3, 8, 8]));
        var h1 = graph.Create("Relu", [Conv(x, "W1", 3, 4, 60f)]).Outputs[0];
        var h2 = graph.Create("Relu", [Conv(h1, "W2", 4, 4, 200f)]).Outputs[0];
        var t = graph.Create("Transpose", [h2], attributes: [Attribute.IntList("perm", [0, 1, 3, 2])]).Outputs[0];
        var both = graph.Create("Concat", [t, t], attributes: [Attribute.Int("axis", 1)]).Outputs[0];
        var y = Conv(both, "W3", 8, 2, 1e-4f);
        y.Type = TypeInfo.OfTensor(DataType.Float, [1, 2, 8, 8]);
        graph.Outputs.Add(y);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.onnx");
        OnnxWriter.Save(model, path);
        return path;
    }

    [Fact]
    public void Fp16_with_check_measures_activations_and_keeps_the_overflowing_convs_in_float32()
    {
        using var dir = Fixtures.Temp();
        var input = OverflowingCnn(dir.File("cnn"));
        var bytes = File.ReadAllBytes(input);

        var result = ForgeCli.Run("optimize", input, "-o", dir.File("cnn16.onnx"), "--fp16", "--check");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("measured beyond", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("check passed", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(input));
        Assert.True(File.Exists(dir.File("cnn16.onnx")));
    }

    [Fact]
    public void Fp16_without_activation_ranges_overflows_and_the_check_exits_5_never_0()
    {
        using var dir = Fixtures.Temp();
        var input = OverflowingCnn(dir.File("cnn"));

        var result = ForgeCli.Run("optimize", input, "-o", dir.File("cnn16.onnx"), "--fp16", "--check", "--activation-ranges", "off");

        Assert.True(result.ExitCode == 5, result.Stdout + result.Stderr);
        Assert.False(File.Exists(dir.File("cnn16.onnx")));
    }

    [Fact]
    public void Activation_ranges_without_a_conversion_are_bad_input()
    {
        using var dir = Fixtures.Temp();
        var input = OverflowingCnn(dir.File("cnn"));

        var result = ForgeCli.Run("optimize", input, "-o", dir.File("x.onnx"), "--activation-ranges", "on");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--activation-ranges needs --fp16", result.Stderr, StringComparison.Ordinal);
    }
}
