using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Cli.Tests;

/// <summary><c>--check</c> runs ONNX Runtime in a child process of forge (the hidden <c>forge __check</c>): an abort there is one line and an exit code.</summary>
public sealed class CheckProcessCommandTests
{
    /// <summary>The test seam of the hidden command: the check process fails fast (SIGABRT) as the named phase begins.</summary>
    private const string FailFast = "FORGE_CHECK_FAIL_FAST";

    private static string Save(Model model, string path)
    {
        OnnxWriter.Save(model, path);
        return path;
    }

    /// <summary>
    /// One Einsum over bij,bjd whose first input has no declared rank: ONNX Runtime 1.31 loads it, and the check's
    /// random inputs give that input rank 0, on which ONNX Runtime aborts the process (SIGABRT, "terminate called
    /// without an active exception") instead of failing the run: fuzz case 3194, a scalar rewired into a UNet Einsum.
    /// </summary>
    private static Model AbortingEinsum()
    {
        var graph = new Graph("einsum");
        var model = new Model(graph);
        model.OpsetImports[""] = 12;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float));
        var y = graph.AddInput("y", TypeInfo.OfTensor(DataType.Float, [1, 2, 3]));
        graph.Outputs.Add(graph.Create("Einsum", [x, y], attributes: [Attribute.String("equation", "bij,bjd->bid")]).Outputs[0]);
        return model;
    }

    /// <summary>y = x · w over a [2, 8] input.</summary>
    private static Model Scale(float w)
    {
        var graph = new Graph("scale");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var mul = graph.Create("Mul", [x, graph.AddInitializer(Tensor.FromFloats([8], Enumerable.Repeat(w, 8).ToArray()), "w")]);
        mul.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        graph.Outputs.Add(mul.Outputs[0]);
        return model;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static ChildProcessCheckRunner Child() => new("dotnet", [Path.Combine(AppContext.BaseDirectory, "forge.dll")]);

    [Fact]
    public void Check_on_a_model_that_makes_onnx_runtime_abort_exits_2_with_one_line_naming_the_original()
    {
        using var dir = Fixtures.Temp();
        using var model = AbortingEinsum();
        var input = Save(model, dir.File("einsum.onnx"));

        var result = ForgeCli.Run("optimize", input, "-o", dir.File("out.onnx"), "--check");

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(Lines(result.Stderr));
        Assert.StartsWith($"forge: error: ONNX Runtime aborted (signal 6) running the original model {input}", line, StringComparison.Ordinal);
        Assert.Equal(["einsum.onnx"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void An_abort_in_the_check_process_is_exit_2_on_the_original_and_exit_3_on_the_optimized_model_and_leaves_no_output()
    {
        using var dir = Fixtures.Temp();
        using var model = Scale(1f);
        var input = Save(model, dir.File("a.onnx"));
        var output = dir.File("out/b.onnx");

        var original = ForgeCli.Run(new Dictionary<string, string?> { [FailFast] = "loading-original" }, "optimize", input, "-o", output, "--check");
        var optimized = ForgeCli.Run(new Dictionary<string, string?> { [FailFast] = "running-optimized" }, "optimize", input, "-o", output, "--check");
        var left = Directory.Exists(dir.File("out")) ? Directory.GetFileSystemEntries(dir.File("out")) : [];
        var unharmed = ForgeCli.Run(new Dictionary<string, string?> { [FailFast] = "no-such-phase" }, "optimize", input, "-o", output, "--check");

        Assert.Equal(2, original.ExitCode);
        Assert.StartsWith($"forge: error: ONNX Runtime aborted (signal 6) loading the original model {input}", Assert.Single(Lines(original.Stderr)), StringComparison.Ordinal);
        Assert.Equal(3, optimized.ExitCode);
        Assert.Equal(
            $"forge: pass failed: ONNX Runtime aborted (signal 6) running the optimized model {output}: {FailFast}=running-optimized: the test seam aborts the check process",
            Assert.Single(Lines(optimized.Stderr)));
        Assert.Empty(left);
        Assert.Equal(0, unharmed.ExitCode);
        Assert.Contains("check passed", unharmed.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void The_check_process_gives_the_figures_of_the_in_process_check_and_its_input_errors_unchanged()
    {
        using var dir = Fixtures.Temp();
        using var a = Scale(1f);
        using var b = Scale(1.001f);
        var original = Save(a, dir.File("a.onnx"));
        var optimized = Save(b, dir.File("b.onnx"));
        var options = new OptimizeCheckOptions { Seed = 4 };

        var inProcess = InProcessCheckRunner.Instance.Run(original, optimized, options);
        var child = Child().Run(original, optimized, options);
        var refused = Assert.Throws<ForgeInputException>(() => Child().Run(dir.File("missing.onnx"), optimized, options));
        var refusedHere = Assert.Throws<ForgeInputException>(() => InProcessCheckRunner.Instance.Run(dir.File("missing.onnx"), optimized, options));

        Assert.False(child.Passed);
        Assert.Equal(inProcess.Outputs, child.Outputs);
        Assert.Equal(inProcess.Reference, child.Reference);
        Assert.Equal(inProcess.Inputs, child.Inputs);
        Assert.Equal(inProcess.Notes, child.Notes);
        Assert.Equal(refusedHere.ExitCode, refused.ExitCode);
        Assert.Equal(refusedHere.Message, refused.Message);
    }

    [Fact]
    public void The_hidden_check_command_is_left_out_of_the_help_and_of_the_command_list()
    {
        var help = ForgeCli.Run("--help");
        var unknown = ForgeCli.Run("chek");

        Assert.Equal(0, help.ExitCode);
        Assert.DoesNotContain(CheckProcess.CommandName, help.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, unknown.ExitCode);
        Assert.DoesNotContain(CheckProcess.CommandName, unknown.Stderr, StringComparison.Ordinal);
    }
}
