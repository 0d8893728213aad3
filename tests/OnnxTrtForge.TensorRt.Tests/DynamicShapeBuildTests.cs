using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>The dynamic-axes UNet export, optimized once without pinning a shape (batch, height, width and sequence stay dynamic).</summary>
public sealed class OptimizedDynamicUnet : IDisposable
{
    public const string Fixture = "tiny_unet_dyn12_fp16_aten";

    private readonly TempDir dir = Fixtures.Temp();

    public OptimizedDynamicUnet()
    {
        ModelPath = dir.File("model.optimized.onnx");
        var (code, stdout, stderr) = StandIn.Forge(["optimize", Fixtures.Model(Fixture), "-o", ModelPath]);
        if (code != 0)
        {
            throw new InvalidOperationException($"forge optimize exited {code}: {stdout}{stderr}");
        }
    }

    public string ModelPath { get; }

    public void Dispose() => dir.Dispose();
}

/// <summary>
/// forge build with min/opt/max profiles on the dynamic UNet: one stand-in engine covers the range, runs at shapes inside
/// it like ONNX Runtime runs the optimized model, and refuses shapes outside it; profiles that contradict the model are
/// refused by forge before trtexec runs, and by the stand-in the way TensorRT's builder refuses them.
/// </summary>
public sealed class DynamicShapeBuildTests(OptimizedDynamicUnet unet) : IClassFixture<OptimizedDynamicUnet>
{
    private static readonly string[] Profiles =
    [
        "--shape", "input_0:1x4x16x16:2x4x32x32:4x4x64x64",
        "--shape", "input_2:1x77x32:2x77x32:4x77x32",
    ];

    [Fact]
    public async Task One_engine_built_for_a_profile_runs_at_two_shapes_inside_it_as_onnx_runtime_runs_the_optimized_model()
    {
        using var dir = Fixtures.Temp();
        var trtexec = StandIn.Script(dir.Path);
        var engine = dir.File("unet.trt");

        var (code, stdout, stderr) = StandIn.Forge(["build", unet.ModelPath, "--trtexec", trtexec, "--engine", engine, "--no-cache", .. Profiles]);

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("stand-in (test double), not a real TensorRT engine", stdout, StringComparison.Ordinal);
        var log = File.ReadAllText(engine + ".log");
        Assert.Contains("--minShapes=input_0:1x4x16x16,input_2:1x77x32", log, StringComparison.Ordinal);
        Assert.Contains("Set shape of input tensor input_0 for optimization profile 0 to: MIN=1x4x16x16 OPT=2x4x32x32 MAX=4x4x64x64", log, StringComparison.Ordinal);
        Assert.Contains("Set shape of input tensor input_1 for optimization profile 0 to: MIN=1 OPT=1 MAX=1", log, StringComparison.Ordinal);

        var tool = await StandIn.ToolAsync(dir.Path);
        var data = Path.Combine(Fixtures.Dir(OptimizedDynamicUnet.Fixture), "test_data_set_0");
        var timestep = OnnxReader.LoadTensor(Path.Combine(data, "input_1.pb"));
        var atTestData = new[] { ("input_0", OnnxReader.LoadTensor(Path.Combine(data, "input_0.pb"))), ("input_1", timestep), ("input_2", OnnxReader.LoadTensor(Path.Combine(data, "input_2.pb"))) };
        var small = new[] { ("input_0", Random(DataType.Float16, [1, 4, 16, 16], 1)), ("input_1", timestep), ("input_2", Random(DataType.Float16, [1, 77, 32], 2)) };
        Assert.Equal([4L, 4, 32, 32], atTestData[0].Item2.Dims);

        foreach (var inputs in new[] { small, atTestData })
        {
            var engineOut = Assert.Single(await new EngineInference(tool).RunAsync(engine, inputs, ["output_0"], CancellationToken.None));
            var ortOut = RunOrt(unet.ModelPath, inputs);

            Assert.Equal(ortOut.Dims, engineOut.Dims);
            Assert.Equal(inputs[0].Item2.Dims, engineOut.Dims);
            Assert.InRange(RelL2(engineOut, ortOut), 0, 1e-3);
        }

        var expected = OnnxReader.LoadTensor(Path.Combine(data, "output_0.pb"));
        var atExport = Assert.Single(await new EngineInference(tool).RunAsync(engine, atTestData, ["output_0"], CancellationToken.None));
        Assert.InRange(RelL2(atExport, expected), 0, 2e-3);
    }

    [Theory]
    [InlineData(new long[] { 1, 4, 8, 8 }, "Set dimension [1x4x8x8] for tensor input_0 does not satisfy any optimization profiles. Valid range for profile 0: [1x4x16x16]..[4x4x64x64]")]
    [InlineData(new long[] { 8, 4, 32, 32 }, "Set dimension [8x4x32x32] for tensor input_0 does not satisfy any optimization profiles")]
    public async Task Inference_at_a_shape_outside_the_profile_fails_naming_the_input_and_the_range(long[] latent, string error)
    {
        using var dir = Fixtures.Temp();
        var engine = dir.File("unet.trt");
        var (code, stdout, stderr) = StandIn.Forge(["build", unet.ModelPath, "--trtexec", StandIn.Script(dir.Path), "--engine", engine, "--no-cache", .. Profiles]);
        Assert.True(code == 0, stdout + stderr);
        var inputs = new[] { ("input_0", Random(DataType.Float16, latent, 3)), ("input_1", Tensor.FromArray(DataType.Float16, [1], new[] { (Half)10 })), ("input_2", Random(DataType.Float16, [latent[0], 77, 32], 4)) };

        var tool = await StandIn.ToolAsync(dir.Path);

        var failed = await Assert.ThrowsAsync<TrtexecFailedException>(() => new EngineInference(tool).RunAsync(engine, inputs, ["output_0"], CancellationToken.None));

        Assert.Contains(error, failed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("input_0:1x4x16x16:2x4x32x32:4x4x64x64", "input 'input_2' ([batch, sequence, 32]) has dynamic dimension 0 ('batch'), dimension 1 ('sequence') and no shape profile")]
    [InlineData("input_0:1x3x16x16:2x3x32x32:4x3x64x64|input_2:1x77x32:2x77x32:4x77x32", "dimension 1 of input 'input_0' is fixed at 4 in")]
    [InlineData("input_0:1x4x32x16:2x4x16x32:4x4x64x64|input_2:1x77x32:2x77x32:4x77x32", "dimension 2 ('height') of input 'input_0' must satisfy min <= opt <= max (got min 32, opt 16, max 64)")]
    [InlineData("input_0:1x4x16x16:2x4x32x32:4x4x64x64|input_2:2x77x32:2x77x32:4x77x32", "dimension 0 ('batch') of input 'input_2' is the same dimension 'batch' as dimension 0 of input 'input_0'")]
    [InlineData("input_0:1x4x16:2x4x32:4x4x64|input_2:1x77x32:2x77x32:4x77x32", "input 'input_0' of")]
    [InlineData("input_0:1x4x16x16:2x4x32x32:4x4x64x64|input_2:1x77x32:2x77x32:4x77x32|input_1:2", "dimension 0 of input 'input_1' is fixed at 1 in")]
    public void A_profile_that_contradicts_the_model_is_refused_with_exit_2_before_trtexec_runs(string shapes, string error)
    {
        using var dir = Fixtures.Temp();
        var engine = dir.File("unet.trt");
        var args = new List<string> { "build", unet.ModelPath, "--trtexec", StandIn.Script(dir.Path), "--engine", engine, "--no-cache" };
        foreach (var s in shapes.Split('|'))
        {
            args.AddRange(["--shape", s]);
        }

        var (code, stdout, stderr) = StandIn.Forge(args);

        Assert.True(code == 2, $"exit {code}: {stdout}{stderr}");
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("error", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(error, line, StringComparison.Ordinal);
        Assert.False(File.Exists(engine + ".log"), "trtexec ran");
        Assert.False(File.Exists(engine));
    }

    [Theory]
    [InlineData("--minShapes=input_0:1x3x16x16,input_2:1x77x32", "--optShapes=input_0:2x3x32x32,input_2:2x77x32", "--maxShapes=input_0:4x3x64x64,input_2:4x77x32",
        "input_0: for dimension number 1 in profile 0 does not match network definition (got min=3, opt=3, max=3), expected min=opt=max=4)")]
    [InlineData("--minShapes=input_0:1x4x16x16,input_2:1x77x32", "--optShapes=input_0:2x4x8x32,input_2:2x77x32", "--maxShapes=input_0:4x4x64x64,input_2:4x77x32",
        "input_0: for dimension number 2 in profile 0 the dimensions are not ordered (got min=16, opt=8, max=64)")]
    [InlineData("--minShapes=input_0:1x4x16,input_2:1x77x32", "--optShapes=input_0:2x4x32,input_2:2x77x32", "--maxShapes=input_0:4x4x64,input_2:4x77x32",
        "input_0: number of dimensions in profile 0 (min 3, opt 3, max 3) does not match network definition (4)")]
    public void The_stand_in_refuses_profiles_that_contradict_the_network_as_the_builder_does(string min, string opt, string max, string error)
    {
        using var dir = Fixtures.Temp();

        var (code, stdout, stderr) = Trtexec(dir, ["--onnx=" + unet.ModelPath, "--saveEngine=" + dir.File("e.trt"), "--skipInference", min, opt, max]);

        Assert.Equal(1, code);
        Assert.Contains("Error Code 4: Internal Error (" + error, stderr, StringComparison.Ordinal);
        Assert.Contains("&&&& FAILED", stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("e.trt")));
    }

    [Fact]
    public void The_stand_in_builds_a_dynamic_input_without_shapes_for_size_1_as_trtexec_does_so_other_batches_fail()
    {
        using var dir = Fixtures.Temp();
        var engine = dir.File("e.trt");

        var build = Trtexec(dir, ["--onnx=" + unet.ModelPath, "--saveEngine=" + engine, "--skipInference", "--minShapes=input_0:1x4x16x16", "--optShapes=input_0:2x4x16x16", "--maxShapes=input_0:2x4x16x16"]);
        var atOne = Trtexec(dir, ["--loadEngine=" + engine, "--shapes=input_0:1x4x16x16,input_2:1x77x32", "--iterations=1", "--warmUp=0", "--duration=0"]);
        var atTwo = Trtexec(dir, ["--loadEngine=" + engine, "--shapes=input_0:2x4x16x16,input_2:2x77x32", "--iterations=1", "--warmUp=0", "--duration=0"]);

        Assert.True(build.Code == 0, build.Stdout + build.Stderr);
        Assert.Contains("Dynamic dimensions required for input: input_2, but no shapes were given. Automatically overriding shape to: 1x1x32", build.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, atTwo.Code);
        Assert.Contains("Static dimension mismatch while setting input shape for input_2: dimension 0 is 2, the engine's is 1", atTwo.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, atOne.Code);
        Assert.Contains("Static dimension mismatch while setting input shape for input_2: dimension 1 is 77, the engine's is 1", atOne.Stderr, StringComparison.Ordinal);
    }

    private static (int Code, string Stdout, string Stderr) Trtexec(TempDir dir, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(StandIn.Script(dir.Path)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("the stand-in did not finish");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static Tensor Random(DataType type, long[] dims, int seed)
    {
        var random = new Random(seed);
        var values = new Half[dims.Aggregate(1L, (a, b) => a * b)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (Half)((random.NextDouble() * 2) - 1);
        }

        Assert.Equal(DataType.Float16, type);
        return Tensor.FromArray(type, dims, values);
    }

    /// <summary>ONNX Runtime (CPU, graph optimizations off) on <paramref name="model"/>: the reference for the stand-in engine.</summary>
    private static Tensor RunOrt(string model, IReadOnlyList<(string Name, Tensor Value)> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var values = new List<OrtValue>();
        try
        {
            foreach (var (_, tensor) in inputs)
            {
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)tensor.Type, [.. tensor.Dims]);
                tensor.Data.Span.CopyTo(value.GetTensorMutableRawData());

                values.Add(value);
            }

            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs.Select(i => i.Name).ToList(), values, ["output_0"]);
            var info = outputs[0].GetTensorTypeAndShape();
            return new Tensor((DataType)(int)info.ElementDataType, info.Shape, TensorData.FromBytes(outputs[0].GetTensorMutableRawData().ToArray()));
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    private static double RelL2(Tensor actual, Tensor expected)
    {
        var a = actual.ToDoubleArray();
        var e = expected.ToDoubleArray();
        Assert.Equal(e.Length, a.Length);
        double diff = 0, norm = 0;
        for (var i = 0; i < e.Length; i++)
        {
            diff += (a[i] - e[i]) * (a[i] - e[i]);
            norm += e[i] * e[i];
        }

        return Math.Sqrt(diff / norm);
    }
}
