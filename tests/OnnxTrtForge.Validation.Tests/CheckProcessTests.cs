using System.Text.Json;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Validation.Tests;

public sealed class CheckProcessTests
{
    /// <summary>y = x · w over a [2, 8] input.</summary>
    private static string Scale(string path, float w)
    {
        var graph = new Graph("scale");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var mul = graph.Create("Mul", [x, graph.AddInitializer(Tensor.FromFloats([1], [w]), "w")]);
        mul.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        graph.Outputs.Add(mul.Outputs[0]);
        OnnxWriter.Save(model, path);
        return path;
    }

    /// <summary>One node of a domain no runtime knows: ONNX Runtime refuses to load it (an expected failure, exit 2).</summary>
    private static string Mystery(string path)
    {
        var graph = new Graph("custom");
        var model = new Model(graph);
        model.OpsetImports[""] = 13;
        model.OpsetImports["com.example"] = 1;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2]));
        var node = graph.Append(new Node("com.example", "Mystery", [x], ["y"], [], "mystery"));
        node.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2]);
        graph.Outputs.Add(node.Outputs[0]);
        OnnxWriter.Save(model, path);
        return path;
    }

    /// <summary>ONNX Runtime's message names the rewritten reference, which each check writes to a fresh temporary folder.</summary>
    private static string WithoutTempFolder(string message) => System.Text.RegularExpressions.Regex.Replace(message, "forge-check-[A-Za-z0-9]+", "forge-check-TEMP");

    private sealed class Phases : IProgress<CheckPhase>
    {
        public List<CheckPhase> Seen { get; } = [];

        public void Report(CheckPhase value) => Seen.Add(value);
    }

    [Fact]
    public void A_result_round_trips_through_the_check_process_json_with_non_finite_figures_and_counts()
    {
        var result = new OptimizeCheckResult(
            "original after rewrite rules",
            "random inputs (seed 3)",
            [
                new OutputCheck("set", "y", "float16", double.PositiveInfinity, double.NaN, true, 2e-3, false) { NonFiniteCounts = (1, 2, 30) },
                new OutputCheck("set", "z", "float", 1.5e-7, 2e-6, false, 1e-5, true),
            ],
            ["a note", "another"]) { Runtime = "ONNX Runtime 1.31 (CUDA, device 1)" };

        var back = CheckProcess.Deserialize(CheckProcess.Serialize(new CheckResponse(result, null)))!.Result!;

        Assert.Equal(result.Reference, back.Reference);
        Assert.Equal(result.Inputs, back.Inputs);
        Assert.Equal(result.Runtime, back.Runtime);
        Assert.Equal(result.Notes, back.Notes);
        Assert.Equal(result.Outputs, back.Outputs);
        Assert.Equal((1L, 2L, 30L), back.Outputs[0].NonFiniteCounts);
        Assert.False(back.Passed);
    }

    [Fact]
    public void A_request_carries_the_device_and_every_other_check_option()
    {
        var options = new OptimizeCheckOptions { Fp32Tolerance = 1e-2, Fp16Tolerance = 3e-2, Seed = 7, MaxDataSets = 1, Device = ExecutionDevice.Cuda, DeviceId = 2, Threads = 1 };
        var request = new CheckRequest("in/a.onnx", "/tmp/b.onnx", options, "/tmp/response.json");

        var back = JsonSerializer.Deserialize(JsonSerializer.Serialize(request, CheckProcessJson.Default.CheckRequest), CheckProcessJson.Default.CheckRequest);

        Assert.Equal(request, back);
    }

    [Fact]
    public void The_check_reports_its_phases_in_order_before_onnx_runtime_takes_each_step()
    {
        using var dir = Fixtures.Temp();
        var phases = new Phases();

        var result = OptimizeCheck.Run(Scale(dir.File("a.onnx"), 1f), Scale(dir.File("b.onnx"), 1f), phases: phases);

        Assert.True(result.Passed);
        Assert.Equal([CheckPhase.LoadingOriginal, CheckPhase.RunningReference, CheckPhase.LoadingOptimized, CheckPhase.RunningOptimized], phases.Seen);
        Assert.All(phases.Seen, p => Assert.True(CheckProcess.TryParsePhaseLine(CheckProcess.PhaseLine(p), out var parsed) && parsed == p));
    }

    [Fact]
    public void Serving_a_request_answers_the_result_in_the_response_file()
    {
        using var dir = Fixtures.Temp();
        var request = new CheckRequest(Scale(dir.File("a.onnx"), 1f), Scale(dir.File("b.onnx"), 1.5f), new OptimizeCheckOptions(), dir.File("response.json"));
        File.WriteAllText(dir.File("request.json"), JsonSerializer.Serialize(request, CheckProcessJson.Default.CheckRequest));

        var code = CheckProcess.Serve(dir.File("request.json"), new Phases());

        var response = CheckProcess.Deserialize(File.ReadAllText(dir.File("response.json")))!;
        Assert.Equal(0, code);
        Assert.Null(response.Error);
        Assert.False(response.Result!.Passed);
        Assert.Equal("original model", response.Result.Reference);
    }

    [Fact]
    public void A_forge_input_exception_in_the_check_process_comes_back_as_the_same_type_exit_code_and_message()
    {
        using var dir = Fixtures.Temp();
        var original = Mystery(dir.File("a.onnx"));
        var inProcess = Assert.Throws<ForgeInputException>(() => OptimizeCheck.Run(original, original));
        var request = new CheckRequest(original, original, new OptimizeCheckOptions(), dir.File("response.json"));
        File.WriteAllText(dir.File("request.json"), JsonSerializer.Serialize(request, CheckProcessJson.Default.CheckRequest));

        var code = CheckProcess.Serve(dir.File("request.json"), new Phases());
        var error = CheckProcess.Deserialize(File.ReadAllText(dir.File("response.json")))!.Error!;
        var rethrown = Assert.IsType<ForgeInputException>(CheckProcess.Rethrow(error));

        Assert.Equal(2, code);
        Assert.Equal(inProcess.ExitCode, rethrown.ExitCode);
        Assert.Equal(WithoutTempFolder(inProcess.Message), WithoutTempFolder(rethrown.Message));
        Assert.IsType<PassFailedException>(CheckProcess.Rethrow(error with { Kind = "pass-failed", ExitCode = 3 }));
    }

    [Fact]
    public void A_check_process_killed_by_a_signal_is_bad_input_on_the_original_side_and_a_failed_pass_on_the_optimized_side()
    {
        const int aborted = 128 + 6;
        const string last = "terminate called without an active exception";

        var loading = ChildProcessCheckRunner.Died(aborted, CheckPhase.LoadingOriginal, last, "in/a.onnx", "out/b.onnx");
        var rewritten = ChildProcessCheckRunner.Died(aborted, CheckPhase.RunningRewrittenOriginal, last, "in/a.onnx", "out/b.onnx");
        var optimized = ChildProcessCheckRunner.Died(aborted, CheckPhase.LoadingOptimized, last, "in/a.onnx", "out/b.onnx");
        var running = ChildProcessCheckRunner.Died(aborted, CheckPhase.RunningOptimized, null, "in/a.onnx", "out/b.onnx");

        Assert.Equal("ONNX Runtime aborted (signal 6) loading the original model in/a.onnx: " + last, Assert.IsType<ForgeInputException>(loading).Message);
        Assert.Equal(2, ((ForgeException)loading).ExitCode);
        Assert.Contains("running the original model in/a.onnx after the rewrite rules", Assert.IsType<ForgeInputException>(rewritten).Message, StringComparison.Ordinal);
        Assert.Equal("ONNX Runtime aborted (signal 6) loading the optimized model out/b.onnx: " + last, Assert.IsType<PassFailedException>(optimized).Message);
        Assert.Equal(3, ((ForgeException)optimized).ExitCode);
        Assert.Equal("ONNX Runtime aborted (signal 6) running the optimized model out/b.onnx", Assert.IsType<PassFailedException>(running).Message);
    }

    [Fact]
    public void A_check_process_that_dies_before_its_first_phase_is_unexpected_and_one_interrupted_is_cancelled()
    {
        Assert.IsType<InvalidOperationException>(ChildProcessCheckRunner.Died(134, null, "boom", "a.onnx", "b.onnx"));
        Assert.IsType<ForgeInputException>(ChildProcessCheckRunner.Died(1, CheckPhase.LoadingOriginal, "boom", "a.onnx", "b.onnx"));
        Assert.IsType<OperationCanceledException>(ChildProcessCheckRunner.Died(130, CheckPhase.RunningOptimized, null, "a.onnx", "b.onnx"));
    }
}
