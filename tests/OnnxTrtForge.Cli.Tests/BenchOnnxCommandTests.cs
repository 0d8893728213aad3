using System.Text.Json;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

/// <summary><c>forge bench MODEL.onnx</c> as a user runs it (CPU here), and the one-line errors of the ONNX Runtime paths.</summary>
public sealed class BenchOnnxCommandTests
{
    private static readonly string Fp32 = Fixtures.Model("tiny_unet_opset12_fp32");

    [Fact]
    public void Bench_of_an_onnx_model_against_a_baseline_prints_the_table_and_ratio_and_writes_the_report()
    {
        using var dir = Fixtures.Temp();
        var report = dir.File("bench.json");
        var result = ForgeCli.Run("bench", Fp32, "--baseline", Fixtures.Model("tiny_unet_dynamo18_fp32"), "--device", "cpu", "--warmup", "1", "--iterations", "3", "--shape", "input_0:2x4x16x16", "--report", report);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("candidate / baseline: median", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("tiny_unet_opset12_fp32/model.onnx", result.Stdout, StringComparison.Ordinal);
        var root = JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        Assert.Equal(3, root.GetProperty("result").GetProperty("candidate").GetProperty("iterations").GetInt32());
        Assert.Equal(3, root.GetProperty("result").GetProperty("baseline").GetProperty("iterations").GetInt32());
        Assert.True(root.GetProperty("medianRatio").GetDouble() > 0);
    }

    [Fact]
    public void A_report_that_is_neither_json_nor_markdown_is_refused_before_any_work()
    {
        using var dir = Fixtures.Temp();
        var result = ForgeCli.Run("bench", Fp32, "--report", dir.File("bench.txt"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bench.txt", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("median", result.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("bench.txt")));
    }

    [Fact]
    public void Engine_options_on_an_onnx_model_and_onnx_options_on_an_engine_are_bad_input()
    {
        var trtexecOnOnnx = ForgeCli.Run("bench", Fp32, "--trtexec", "/bin/true");
        Assert.Equal(2, trtexecOnOnnx.ExitCode);
        Assert.Contains("--trtexec", trtexecOnOnnx.Stderr, StringComparison.Ordinal);

        var baselineOnEngine = ForgeCli.Run("bench", "unet.trt", "--baseline", Fp32);
        Assert.Equal(2, baselineOnEngine.ExitCode);
        Assert.Contains("--baseline", baselineOnEngine.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cuda_only_op_on_the_cpu_is_one_line_naming_op_node_and_device_with_exit_2_in_bench_and_check()
    {
        using var dir = Fixtures.Temp();
        var model = dir.File("groupnorm.onnx");
        SaveContribGroupNorm(model);

        var bench = ForgeCli.Run("bench", model, "--device", "cpu", "--iterations", "1");
        Assert.Equal(2, bench.ExitCode);
        var line = Assert.Single(bench.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("GroupNorm", line, StringComparison.Ordinal);
        Assert.Contains("'gn_0'", line, StringComparison.Ordinal);
        Assert.Contains("--device cpu", line, StringComparison.Ordinal);

        var check = ForgeCli.Run("optimize", model, "-o", dir.File("out.onnx"), "--check", "--device", "cpu");
        Assert.Equal(2, check.ExitCode);
        Assert.Contains("GroupNorm", check.Stderr, StringComparison.Ordinal);
        Assert.Contains("--device cpu", check.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Optimize_check_runs_on_the_device_it_is_given_and_device_without_check_is_refused()
    {
        using var dir = Fixtures.Temp();
        var checkedRun = ForgeCli.Run("optimize", Fp32, "-o", dir.File("a.onnx"), "--check", "--device", "cpu");
        Assert.True(checkedRun.ExitCode == 0, checkedRun.Stderr);
        Assert.Contains("onnxruntime cpu", checkedRun.Stdout, StringComparison.Ordinal);

        var noCheck = ForgeCli.Run("optimize", Fp32, "-o", dir.File("b.onnx"), "--device", "cuda");
        Assert.Equal(2, noCheck.ExitCode);
        Assert.Contains("--check", noCheck.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("b.onnx")));
    }

    /// <summary>One com.microsoft GroupNorm (NHWC; ONNX Runtime has a CUDA kernel only) with its gamma and beta.</summary>
    private static void SaveContribGroupNorm(string path)
    {
        var graph = new Graph("gn");
        using var model = new Model(graph) { IrVersion = 8 };
        model.OpsetImports[""] = 17;
        model.OpsetImports["com.microsoft"] = 1;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [1L, 4, 4, 8]));
        var gamma = graph.AddInitializer(Tensor.FromFloats([8], Enumerable.Repeat(1f, 8).ToArray(), "gamma"));
        var beta = graph.AddInitializer(Tensor.FromFloats([8], new float[8], "beta"));
        var gn = graph.Append(new Node("com.microsoft", "GroupNorm", [x, gamma, beta], ["y"],
            [Core.Ir.Attribute.Float("epsilon", 1e-5f), Core.Ir.Attribute.Int("groups", 4), Core.Ir.Attribute.Int("activation", 1)], "gn_0"));
        gn.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [1L, 4, 4, 8]);
        graph.Outputs.Add(gn.Outputs[0]);
        OnnxWriter.Save(model, path);
    }
}
