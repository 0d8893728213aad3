using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>Engine builds against the trtexec stand-in: success, cache, each failure class, timeout and cancellation.</summary>
public sealed class EngineBuilderTests
{
    private static readonly string Fp32 = Fixtures.Model("tiny_unet_opset12_fp32");

    private static EngineBuildRequest Request(string dir, string model, EngineBuildOptions? options = null, string engine = "unet.trt") =>
        new(model, Path.Combine(dir, "out", engine), options ?? new EngineBuildOptions()) { CacheDir = Path.Combine(dir, "cache") };

    private static void AssertNoPartialFiles(string dir) =>
        Assert.Empty(Directory.EnumerateFiles(dir, "*.partial-*", SearchOption.AllDirectories));

    [Fact]
    public async Task Builds_an_engine_reports_its_figures_and_serves_the_second_build_from_the_cache()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu());
        var request = Request(dir.Path, Fp32, new EngineBuildOptions { Precision = Precision.Fp16, WorkspaceMiB = 1024 });

        var first = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request, null, CancellationToken.None));
        Assert.False(first.CacheHit);
        Assert.True(first.StandIn);
        Assert.Equal(new TrtVersion(10, 8, 0), first.Tool.Version);
        Assert.Contains("--fp16", first.Arguments);
        Assert.Contains("--memPoolSize=workspace:1024M", first.Arguments);
        Assert.True(first.BuildSeconds > 0);
        Assert.Equal(new FileInfo(request.EnginePath).Length, first.EngineBytes);
        Assert.StartsWith("FAKETRT-ENGINE", File.ReadAllText(request.EnginePath), StringComparison.Ordinal);
        Assert.True(File.Exists(first.TimingCachePath));
        Assert.Contains(Path.Combine("timing", "trt-10.8.0"), first.TimingCachePath, StringComparison.Ordinal);
        AssertNoPartialFiles(dir.Path);

        var second = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request with { EnginePath = Path.Combine(dir.Path, "out", "again.trt") }, null, CancellationToken.None));
        Assert.True(second.CacheHit);
        Assert.Equal(first.CacheKey, second.CacheKey);
        Assert.Equal(File.ReadAllBytes(request.EnginePath), File.ReadAllBytes(second.EnginePath));
        Assert.True(second.StandIn);

        var forced = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request with { Force = true }, null, CancellationToken.None));
        Assert.False(forced.CacheHit);
    }

    [Fact]
    public async Task Exports_layer_info_atomically_and_serves_it_again_from_the_cache()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu());
        var layersPath = Path.Combine(dir.Path, "reports", "layers.json");
        var request = Request(dir.Path, Fp32, new EngineBuildOptions { ExportLayerInfoPath = layersPath });
        int nodes;
        using (var model = Core.Serialization.OnnxReader.Load(Fp32))
        {
            nodes = model.Graph.Nodes.Count;
        }

        var built = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request, null, CancellationToken.None));
        Assert.Contains("--profilingVerbosity=detailed", built.Arguments);
        Assert.Equal(nodes, built.LayerInfo!.LayerCount);
        Assert.True(File.Exists(layersPath));
        AssertNoPartialFiles(dir.Path);

        File.Delete(layersPath);
        var hit = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request, null, CancellationToken.None));
        Assert.True(hit.CacheHit);
        Assert.Equal(nodes, hit.LayerInfo!.LayerCount);
        Assert.True(File.Exists(layersPath));

        var plain = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request with { Options = new EngineBuildOptions() }, null, CancellationToken.None));
        Assert.False(plain.CacheHit);
        Assert.NotEqual(built.CacheKey!.Hash, plain.CacheKey!.Hash);
    }

    [Fact]
    public async Task A_different_GPU_or_TensorRT_version_misses_the_cache_and_gets_its_own_timing_cache()
    {
        using var dir = Fixtures.Temp();
        var request = Request(dir.Path, Fp32);
        var h100 = Assert.IsType<EngineBuildSuccess>(await new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu()).BuildAsync(request, null, CancellationToken.None));
        var l4 = Assert.IsType<EngineBuildSuccess>(await new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu("NVIDIA L4", "8.9")).BuildAsync(request, null, CancellationToken.None));
        var trt86 = Assert.IsType<EngineBuildSuccess>(await new EngineBuilder(await StandIn.ToolAsync(dir.Path, "8.6"), new TestGpu()).BuildAsync(request, null, CancellationToken.None));
        Assert.False(l4.CacheHit);
        Assert.False(trt86.CacheHit);
        Assert.Equal(3, new[] { h100.TimingCachePath, l4.TimingCachePath, trt86.TimingCachePath }.Distinct().Count());
        Assert.Contains("--skipInference", trt86.Arguments);
    }

    [Fact]
    public async Task Changing_external_data_misses_the_cache()
    {
        using var dir = Fixtures.Temp();
        var modelPath = Path.Combine(dir.Path, "ext", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(modelPath)!);
        Core.Serialization.SaveResult saved;
        using (var model = Core.Serialization.OnnxReader.Load(Fp32))
        {
            saved = Core.Serialization.OnnxWriter.Save(model, modelPath, new Core.Serialization.SaveOptions { ExternalData = Core.Serialization.ExternalDataMode.Always });
        }

        Assert.NotNull(saved.DataPath);
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu());
        var request = Request(dir.Path, modelPath);
        Assert.False(Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request, null, CancellationToken.None)).CacheHit);
        Assert.True(Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request, null, CancellationToken.None)).CacheHit);

        var bytes = File.ReadAllBytes(saved.DataPath!);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(saved.DataPath!, bytes);
        Assert.False(Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request, null, CancellationToken.None)).CacheHit);
    }

    [Theory]
    [InlineData("unknown-option", FailureKind.UnknownOption)]
    [InlineData("oom", FailureKind.OutOfMemory)]
    [InlineData("no-implementation", FailureKind.NoImplementation)]
    [InlineData("unsupported-op", FailureKind.UnsupportedOp)]
    [InlineData("parser-error", FailureKind.ParserError)]
    public async Task Each_failure_class_is_classified_and_leaves_no_engine(string fail, FailureKind kind)
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path, "10.8", fail), new TestGpu());
        var request = Request(dir.Path, Fp32);
        var failure = Assert.IsType<EngineBuildFailure>(await builder.BuildAsync(request, null, CancellationToken.None));
        Assert.Equal(kind, failure.Reason.Kind);
        Assert.Equal(ExitCode.EngineBuildFailed, EngineExitCodes.Of(failure));
        Assert.NotEmpty(failure.LogTail);
        Assert.Contains(failure.LogTail, l => TrtexecLog.Severity(l) == 'E');
        Assert.True(File.Exists(failure.LogPath));
        Assert.False(File.Exists(request.EnginePath));
        AssertNoPartialFiles(dir.Path);
        Assert.Null(new EngineCache(request.CacheDir!).Find(failure.CacheKey!));
    }

    [Fact]
    public async Task The_ATen_fallback_model_fails_as_an_unsupported_op_naming_the_node()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu());
        var failure = Assert.IsType<EngineBuildFailure>(await builder.BuildAsync(Request(dir.Path, Fixtures.Model("tiny_unet_opset12_fp16_aten")), null, CancellationToken.None));
        Assert.Equal(FailureKind.UnsupportedOp, failure.Reason.Kind);
        Assert.Equal("ATen", failure.Reason.Op);
        Assert.NotNull(failure.Reason.Node);
    }

    [Fact]
    public async Task TensorRT_11_refuses_an_fp16_build_of_an_fp32_model_and_points_to_the_to_fp16_pass()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path, "11.0"), new TestGpu());
        var e = await Assert.ThrowsAsync<ForgeInputException>(() => builder.BuildAsync(Request(dir.Path, Fp32, new EngineBuildOptions { Precision = Precision.Fp16 }), null, CancellationToken.None));
        Assert.Contains("to-fp16", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir.Path, "out", "unet.trt")));
    }

    [Fact]
    public async Task TensorRT_11_builds_an_fp16_model_without_any_precision_flag()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path, "11.0"), new TestGpu());
        var ok = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(Request(dir.Path, Fixtures.Model("tiny_unet_opset12_fp16"), new EngineBuildOptions { Precision = Precision.Fp16, WorkspaceMiB = 512 }), null, CancellationToken.None));
        Assert.DoesNotContain("--fp16", ok.Arguments);
        Assert.Equal(new TrtVersion(11, 0, 0), ok.Tool.Version);
    }

    [Fact]
    public async Task Profiles_must_name_model_inputs()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu());
        var options = new EngineBuildOptions { Profiles = [ShapeProfile.Fixed("sample", [2, 4, 16, 16])] };
        var e = await Assert.ThrowsAsync<ForgeInputException>(() => builder.BuildAsync(Request(dir.Path, Fp32, options), null, CancellationToken.None));
        Assert.Contains("input_0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_build_that_hangs_is_stopped_at_the_timeout_without_a_partial_engine()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path, "10.8", "hang"), new TestGpu());
        var request = Request(dir.Path, Fp32) with { Timeout = TimeSpan.FromSeconds(3) };
        var failure = Assert.IsType<EngineBuildFailure>(await builder.BuildAsync(request, null, CancellationToken.None));
        Assert.Equal(FailureKind.Timeout, failure.Reason.Kind);
        Assert.False(StandIn.AnyProcessMentions(dir.Path), "trtexec is still running after the timeout");
        Assert.False(File.Exists(request.EnginePath));
        AssertNoPartialFiles(dir.Path);
    }

    [Fact]
    public async Task Cancelling_a_build_stops_trtexec_and_leaves_no_partial_engine()
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path, "10.8", "hang"), new TestGpu());
        var request = Request(dir.Path, Fp32);
        using var cts = new CancellationTokenSource();
        var phases = new List<TrtexecPhase>();
        var progress = new SyncProgress(p =>
        {
            lock (phases)
            {
                phases.Add(p.Phase);
            }

            if (p.Phase == TrtexecPhase.Building)
            {
                cts.Cancel();
            }
        });
        var started = DateTime.UtcNow;
        var failure = Assert.IsType<EngineBuildFailure>(await builder.BuildAsync(request, progress, cts.Token));
        Assert.Equal(FailureKind.Cancelled, failure.Reason.Kind);
        Assert.False(StandIn.AnyProcessMentions(dir.Path), "trtexec is still running after cancellation");
        Assert.Equal(ExitCode.Cancelled, EngineExitCodes.Of(failure));
        Assert.Contains(TrtexecPhase.Parsing, phases);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
        Assert.False(File.Exists(request.EnginePath));
        AssertNoPartialFiles(dir.Path);
    }

    private sealed class SyncProgress(Action<TrtexecProgress> report) : IProgress<TrtexecProgress>
    {
        public void Report(TrtexecProgress value) => report(value);
    }
}
