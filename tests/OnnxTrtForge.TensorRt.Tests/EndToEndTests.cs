using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>build → bench → EngineInference on the tiny UNet, against the stand-in (which runs the ONNX in ONNX Runtime).</summary>
public sealed class EndToEndTests
{
    [Fact]
    public async Task Builds_benches_and_runs_the_tiny_unet_engine_reproducing_the_reference_outputs()
    {
        using var dir = Fixtures.Temp();
        var fixture = Fixtures.Dir("tiny_unet_opset12_fp32");
        var tool = await StandIn.ToolAsync(dir.Path);
        Assert.True(tool.IsStandIn);
        var engine = dir.File("unet.trt");
        var options = new EngineBuildOptions
        {
            Profiles = [ShapeProfile.Fixed("input_0", [2, 4, 16, 16]), ShapeProfile.Fixed("input_1", [1]), ShapeProfile.Fixed("input_2", [2, 77, 32])],
        };
        var built = await new EngineBuilder(tool, new TestGpu()).BuildAsync(new EngineBuildRequest(fixture + "/model.onnx", engine, options), null, CancellationToken.None);
        Assert.IsType<EngineBuildSuccess>(built);

        var bench = Assert.IsType<BenchSuccess>(await new EngineBench(tool).RunAsync(new BenchRequest(engine, new BenchOptions { Iterations = 4, WarmUpMs = 0, ExportProfile = true }), null, CancellationToken.None));
        Assert.Equal("exportTimes", bench.Source);
        Assert.Equal(4, bench.Summary.Queries);
        var gpu = bench.Summary.GpuCompute!;
        Assert.True(gpu.Min > 0 && gpu.Min <= gpu.Median && gpu.Median <= gpu.Max && gpu.P99 <= gpu.Max);
        Assert.NotNull(bench.LogSummary);
        Assert.NotNull(bench.Profile);
        Assert.True(bench.StandIn);
        Assert.Contains(BenchReport.From(bench).Latency, r => r.Metric == "end-to-end");

        string[] inputNames;
        using (var model = OnnxReader.Load(fixture + "/model.onnx"))
        {
            inputNames = model.Graph.Inputs.Where(v => !v.IsInitializer).Select(v => v.Name).ToArray();
        }

        var inputs = inputNames.Select((name, i) => (name, OnnxReader.LoadTensor(Path.Combine(fixture, "test_data_set_0", $"input_{i}.pb")))).ToList();
        var expected = OnnxReader.LoadTensor(Path.Combine(fixture, "test_data_set_0", "output_0.pb"));
        var outputs = await new EngineInference(tool).RunAsync(engine, inputs, ["output_0"], CancellationToken.None);

        var actual = Assert.Single(outputs);
        Assert.Equal(expected.Dims, actual.Dims);
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        double diff = 0, norm = 0;
        for (var i = 0; i < e.Length; i++)
        {
            diff += (a[i] - e[i]) * (a[i] - e[i]);
            norm += e[i] * e[i];
        }

        Assert.True(Math.Sqrt(diff / norm) < 1e-4, $"relative L2 {Math.Sqrt(diff / norm)}");
    }

    [Theory]
    [InlineData("8.6", "--workspace=256", "--fp16")]
    [InlineData("10.8", "--memPoolSize=workspace:256M", "--fp16")]
    [InlineData("11.0", "--memPoolSize=workspace:256M", null)]
    public async Task An_fp16_model_builds_and_benches_on_each_TensorRT_generation(string version, string workspaceFlag, string? precisionFlag)
    {
        using var dir = Fixtures.Temp();
        var tool = await StandIn.ToolAsync(dir.Path, version);
        var engine = dir.File("unet.trt");
        var options = new EngineBuildOptions { Precision = Precision.Fp16, WorkspaceMiB = 256 };
        var built = Assert.IsType<EngineBuildSuccess>(await new EngineBuilder(tool, new TestGpu()).BuildAsync(new EngineBuildRequest(Fixtures.Model("tiny_unet_opset12_fp16"), engine, options), null, CancellationToken.None));
        Assert.Contains(workspaceFlag, built.Arguments);
        Assert.Equal(precisionFlag is not null, built.Arguments.Contains("--fp16"));
        var bench = Assert.IsType<BenchSuccess>(await new EngineBench(tool).RunAsync(new BenchRequest(engine, new BenchOptions { Iterations = 2, WarmUpMs = 0 }), null, CancellationToken.None));
        Assert.Equal(2, bench.Summary.Queries);
        Assert.NotNull(bench.Summary.GpuCompute);
    }

    [Fact]
    public async Task A_benchmark_or_inference_run_that_hangs_is_stopped_at_its_timeout()
    {
        using var dir = Fixtures.Temp();
        var engine = dir.File("vae.trt");
        var model = Fixtures.Model("tiny_vae_decoder_opset12_fp32");
        Assert.IsType<EngineBuildSuccess>(await new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu()).BuildAsync(new EngineBuildRequest(model, engine, new EngineBuildOptions()), null, CancellationToken.None));
        var hanging = await StandIn.ToolAsync(dir.Path, "10.8", "hang");

        var bench = Assert.IsType<BenchFailure>(await new EngineBench(hanging).RunAsync(new BenchRequest(engine, new BenchOptions { Iterations = 2 }) { Timeout = TimeSpan.FromSeconds(2) }, null, CancellationToken.None));
        Assert.Equal(FailureKind.Timeout, bench.Reason.Kind);
        Assert.Equal(OnnxTrtForge.Core.ExitCode.EngineBuildFailed, EngineExitCodes.Of(bench));

        string name;
        long[] dims;
        using (var m = OnnxReader.Load(model))
        {
            name = m.Graph.Inputs[0].Name;
            dims = m.Graph.Inputs[0].Type!.StaticDims!;
        }

        var input = Tensor.FromFloats(dims, new float[dims.Aggregate(1L, (x, y) => x * y)]);
        var e = await Assert.ThrowsAsync<TrtexecFailedException>(() => new EngineInference(hanging) { Timeout = TimeSpan.FromSeconds(2) }.RunAsync(engine, [(name, input)], ["sample"], CancellationToken.None));
        Assert.Equal(FailureKind.Timeout, e.Reason.Kind);
        Assert.False(StandIn.AnyProcessMentions(engine), "trtexec is still running after the timeout");
    }

    [Fact]
    public async Task Inference_names_a_missing_output()
    {
        using var dir = Fixtures.Temp();
        var tool = await StandIn.ToolAsync(dir.Path);
        var engine = dir.File("vae.trt");
        var model = Fixtures.Model("tiny_vae_decoder_opset12_fp32");
        Assert.IsType<EngineBuildSuccess>(await new EngineBuilder(tool, new TestGpu()).BuildAsync(new EngineBuildRequest(model, engine, new EngineBuildOptions()), null, CancellationToken.None));
        string name;
        long[] dims;
        using (var m = OnnxReader.Load(model))
        {
            name = m.Graph.Inputs[0].Name;
            dims = m.Graph.Inputs[0].Type!.StaticDims!;
        }

        var input = Tensor.FromFloats(dims, new float[dims.Aggregate(1L, (x, y) => x * y)]);
        var e = await Assert.ThrowsAsync<TrtexecFailedException>(() => new EngineInference(tool).RunAsync(engine, [(name, input)], ["no_such_output"], CancellationToken.None));
        Assert.Contains("no_such_output", e.Message, StringComparison.Ordinal);
    }
}
