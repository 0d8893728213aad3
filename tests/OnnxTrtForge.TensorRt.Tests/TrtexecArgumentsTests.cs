using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt.Tests;

public sealed class TrtexecArgumentsTests
{
    private static readonly TrtVersion V86 = new(8, 6, 1);
    private static readonly TrtVersion V108 = new(10, 8, 0);
    private static readonly TrtVersion V11 = new(11, 0, 0);

    private static readonly EngineBuildOptions Full = new()
    {
        Precision = Precision.Fp16,
        WorkspaceMiB = 4096,
        OptimizationLevel = 5,
        TimingCachePath = "/c/timing.cache",
        Profiles = [new ShapeProfile("sample", [1, 4, 64, 64], [2, 4, 64, 64], [4, 4, 64, 64]), ShapeProfile.Fixed("timestep", [1])],
    };

    [Fact]
    public void TensorRT_8_takes_workspace_and_fp16()
    {
        var args = TrtexecArguments.Build(V86, "m.onnx", "e.trt", Full);
        Assert.Contains("--fp16", args);
        Assert.Contains("--workspace=4096", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--memPoolSize", StringComparison.Ordinal));
        Assert.Contains("--skipInference", args);
        Assert.Contains("--builderOptimizationLevel=5", args);
        Assert.Contains("--timingCacheFile=/c/timing.cache", args);
    }

    [Fact]
    public void TensorRT_10_takes_memPoolSize_in_MiB_and_fp16()
    {
        var args = TrtexecArguments.Build(V108, "m.onnx", "e.trt", Full);
        Assert.Contains("--fp16", args);
        Assert.Contains("--memPoolSize=workspace:4096M", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--workspace", StringComparison.Ordinal));
        Assert.Equal(["--onnx=m.onnx", "--saveEngine=e.trt", "--skipInference"], args.Take(3));
    }

    [Theory]
    [InlineData(Precision.Fp16)]
    [InlineData(Precision.Bf16)]
    public void TensorRT_11_never_gets_a_precision_flag(Precision precision)
    {
        var args = TrtexecArguments.Build(V11, "m.onnx", "e.trt", Full with { Precision = precision });
        Assert.DoesNotContain(args, a => a is "--fp16" or "--bf16" or "--int8" or "--fp8" or "--best");
        Assert.Contains("--memPoolSize=workspace:4096M", args);
    }

    [Fact]
    public void Bf16_is_refused_before_TensorRT_9_and_passed_on_10()
    {
        Assert.Throws<ForgeInputException>(() => TrtexecArguments.Build(V86, "m.onnx", "e.trt", Full with { Precision = Precision.Bf16 }));
        Assert.Contains("--bf16", TrtexecArguments.Build(V108, "m.onnx", "e.trt", Full with { Precision = Precision.Bf16 }));
    }

    [Fact]
    public void Old_versions_build_only_and_refuse_newer_switches()
    {
        var v84 = new TrtVersion(8, 4, 3);
        var args = TrtexecArguments.Build(v84, "m.onnx", "e.trt", new EngineBuildOptions());
        Assert.Contains("--buildOnly", args);
        Assert.Throws<ForgeInputException>(() => TrtexecArguments.Build(v84, "m.onnx", "e.trt", new EngineBuildOptions { OptimizationLevel = 3 }));
        Assert.Throws<ForgeInputException>(() => TrtexecArguments.Build(v84, "m.onnx", "e.trt", new EngineBuildOptions { VersionCompatible = true }));
    }

    [Fact]
    public void Writes_shape_profiles_as_name_colon_dims_lists()
    {
        var args = TrtexecArguments.Build(V108, "m.onnx", "e.trt", Full);
        Assert.Contains("--minShapes=sample:1x4x64x64,timestep:1", args);
        Assert.Contains("--optShapes=sample:2x4x64x64,timestep:1", args);
        Assert.Contains("--maxShapes=sample:4x4x64x64,timestep:1", args);
    }

    [Theory]
    [InlineData("sample", "sample")]
    [InlineData("/down_blocks.0/Conv_output_0", "/down_blocks.0/Conv_output_0")]
    [InlineData("input:0", "'input:0'")]
    [InlineData("encoder hidden states", "'encoder hidden states'")]
    [InlineData("a,b", "'a,b'")]
    public void Quotes_names_with_special_characters(string name, string expected) => Assert.Equal(expected, TrtexecArguments.QuoteName(name));

    [Fact]
    public void Refit_version_compatible_verbose_and_raw_flags_are_appended()
    {
        var args = TrtexecArguments.Build(V108, "m.onnx", "e.trt", new EngineBuildOptions { Refit = true, VersionCompatible = true, Verbose = true, ExtraFlags = ["--sparsity=enable"] });
        Assert.Equal(["--refit", "--versionCompatible", "--verbose", "--sparsity=enable"], args.Skip(3));
    }

    [Fact]
    public void Inference_arguments_load_inputs_and_export_outputs()
    {
        var args = TrtexecArguments.Infer(V108, "e.trt", [("sample", "/t/in0.bin", [2, 4, 16, 16]), ("t:0", "/t/in1.bin", [1])], "/t/out.json");
        Assert.Contains("--loadEngine=e.trt", args);
        Assert.Contains("--loadInputs=sample:/t/in0.bin,'t:0':/t/in1.bin", args);
        Assert.Contains("--shapes=sample:2x4x16x16,'t:0':1", args);
        Assert.Contains("--exportOutput=/t/out.json", args);
        Assert.Contains("--iterations=1", args);
    }

    [Fact]
    public void Bench_asks_for_90_95_99_percentiles_and_exported_times()
    {
        var args = TrtexecArguments.Bench(V108, "e.trt", new BenchOptions { Iterations = 50, Shapes = [("sample", [2, 4, 64, 64])] }, "/t/times.json", null);
        Assert.Contains("--percentile=90,95,99", args);
        Assert.Contains("--iterations=50", args);
        Assert.Contains("--exportTimes=/t/times.json", args);
        Assert.Contains("--shapes=sample:2x4x64x64", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--exportProfile", StringComparison.Ordinal));
        Assert.DoesNotContain(TrtexecArguments.Bench(new TrtVersion(8, 2, 1), "e.trt", new BenchOptions(), "/t/times.json", null), a => a.StartsWith("--percentile", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sample:1x4x64x64:2x4x64x64:4x4x64x64", "sample", "1x4x64x64", "4x4x64x64")]
    [InlineData("timestep:1", "timestep", "1", "1")]
    [InlineData("input:0:1x3", "input:0", "1x3", "1x3")]
    public void Parses_shape_options(string text, string name, string min, string max)
    {
        var p = ShapeProfile.Parse(text);
        Assert.Equal(name, p.Name);
        Assert.Equal(min, ShapeProfile.FormatDims(p.Min));
        Assert.Equal(max, ShapeProfile.FormatDims(p.Max));
    }

    [Theory]
    [InlineData("sample")]
    [InlineData(":1x4")]
    public void Rejects_malformed_shape_options(string text) => Assert.Throws<ForgeInputException>(() => ShapeProfile.Parse(text));
}
