namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>The performance summary and build figures in every format drift TRTEXEC.md lists (golden logs in Logs/).</summary>
public sealed class TrtexecLogTests
{
    private static TrtexecLogFacts Parse(string name) => TrtexecLog.ParseFile(Path.Combine(AppContext.BaseDirectory, "Logs", name));

    [Fact]
    public void Reads_build_time_engine_size_and_the_10x_summary()
    {
        var facts = Parse("trt10_build_and_summary.log");
        Assert.Equal(new TrtVersion(10, 8, 0), facts.Version);
        Assert.True(facts.Passed);
        Assert.False(facts.IsStandIn);
        Assert.Equal(590.011, facts.BuildSeconds);
        Assert.Equal(1790.2, facts.EngineSizeMiB);
        Assert.Equal(7.21934, facts.ParseSeconds);
        Assert.Equal(0.545652, facts.DeserializeSeconds);
        var s = facts.Summary!;
        Assert.Equal(130.298, s.ThroughputQps);
        Assert.Equal(new LatencyStats(5.38672, 13.3664, 7.60628, 7.16092, 10.2996, 10.8698, 12.9675), s.Latency);
        Assert.Equal(new LatencyStats(5.34595, 13.3388, 7.58404, 7.14139, 10.2881, 10.8175, 12.9485), s.GpuCompute);
        Assert.Equal(0.412093, s.Enqueue!.Mean);
        Assert.Equal(0.0283203, s.H2D!.P99);
        Assert.Equal(0.00341797, s.D2H!.Median);
        Assert.Equal(3.00082, s.TotalHostWalltimeSeconds);
        Assert.Equal(2.96536, s.TotalGpuComputeSeconds);
        Assert.Equal(669, s.Queries);
        Assert.Null(s.EndToEndHostLatency);
        Assert.Same(s.Latency, s.EndToEnd);
        Assert.Equal(2, s.Warnings.Count);
        Assert.StartsWith("GPU compute time is unstable, with coefficient of variance = 9.24371%", s.Warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_the_86_summary_with_a_warning_after_it()
    {
        var facts = Parse("trt86_summary.log");
        Assert.Equal(new TrtVersion(8, 6, 1), facts.Version);
        var s = facts.Summary!;
        Assert.Equal(41.7764, s.ThroughputQps);
        Assert.Equal(new LatencyStats(23.2673, 24.5164, 23.5912, 23.5568, 23.8306, 23.9471, 24.5164), s.GpuCompute);
        Assert.Equal(24.1689, s.Latency!.P90);
        Assert.Single(s.Warnings);
        Assert.Contains("bound by Enqueue Time", s.Warnings[0], StringComparison.Ordinal);
        Assert.Null(facts.BuildSeconds);
    }

    [Fact]
    public void Reads_80_with_only_the_99th_percentile_and_an_end_to_end_line()
    {
        var s = Parse("trt80_summary.log").Summary!;
        Assert.Equal(new LatencyStats(3.46997, 4.82324, 3.58707, 3.56982, null, null, 3.93408), s.GpuCompute);
        Assert.Equal(new LatencyStats(6.43433, 8.51172, 7.43665, 7.43262, null, null, 7.98755), s.EndToEndHostLatency);
        Assert.Same(s.EndToEndHostLatency, s.EndToEnd);
        Assert.Equal(3.80261, s.Latency!.Min);
        Assert.Equal(254.113, s.ThroughputQps);
    }

    [Fact]
    public void Reads_TensorRT_7_multi_line_blocks()
    {
        var facts = Parse("trt7_summary.log");
        Assert.Null(facts.Version);
        var s = facts.Summary!;
        Assert.Equal(new LatencyStats(3.11584, 5.15796, 3.4227, 3.38745, null, null, 4.16492), s.Latency);
        Assert.Equal(new LatencyStats(3.12451, 5.30109, 3.43219, 3.39636, null, null, 4.17529), s.EndToEndHostLatency);
        Assert.Equal(new LatencyStats(2.58411, 4.64197, 2.89185, 2.85583, null, null, 3.61255), s.GpuCompute);
        Assert.Null(s.Enqueue);
        Assert.Equal(3.00844, s.TotalHostWalltimeSeconds);
        Assert.Equal(2.96128, s.TotalGpuComputeSeconds);
    }

    [Fact]
    public void Reads_hand_edited_lines_without_equals_signs_or_timestamps()
    {
        var s = Parse("hand_edited_no_equals.log").Summary!;
        Assert.Equal(88.5, s.ThroughputQps);
        Assert.Equal(new LatencyStats(10.5, 14.25, 11.25, 11, 12.5, 13, 14), s.Latency);
        Assert.Equal(new LatencyStats(10.25, 14, 11, 10.75, 12.25, 12.75, 13.75), s.GpuCompute);
        Assert.Equal(3.1, s.TotalHostWalltimeSeconds);
        Assert.Single(s.Warnings);
    }

    [Fact]
    public void A_build_only_log_has_no_summary()
    {
        string[] lines =
        [
            "&&&& RUNNING TensorRT.trtexec [TensorRT v100800] # trtexec --onnx=a.onnx --saveEngine=a.trt --skipInference",
            "[02/11/2025-14:12:09] [I] Engine built in 12.5 sec.",
            "[02/11/2025-14:12:11] [I] Created engine with size: 512 KiB",
            "&&&& PASSED TensorRT.trtexec [TensorRT v100800] # trtexec --onnx=a.onnx --saveEngine=a.trt --skipInference",
        ];
        var facts = TrtexecLog.Parse(lines);
        Assert.Null(facts.Summary);
        Assert.Equal(12.5, facts.BuildSeconds);
        Assert.Equal(0.5, facts.EngineSizeMiB);
    }

    [Theory]
    [InlineData("[02/11/2025-14:02:12] [I] [TRT] Input filename:   unet.onnx", TrtexecPhase.Parsing)]
    [InlineData("[02/11/2025-14:02:19] [I] [TRT] Local timing cache in use. Profiling results in this builder pass will not be stored.", TrtexecPhase.Building)]
    [InlineData("[02/11/2025-14:03:19] [V] [TRT] Timing Runner: /conv_in/Conv (CaskConvolution)", TrtexecPhase.Tactics)]
    [InlineData("[02/11/2025-14:12:09] [I] Engine built in 590.011 sec.", TrtexecPhase.Serializing)]
    [InlineData("[02/11/2025-14:12:13] [I] Starting inference", TrtexecPhase.Inference)]
    public void Recognises_build_phases(string line, TrtexecPhase phase) => Assert.Equal(phase, TrtexecLog.PhaseOf(line));

    [Fact]
    public void Recognises_a_stand_in_by_its_marker()
    {
        Assert.True(TrtexecLog.Parse(["[11/26/2026-08:12:44] [I] " + TrtexecLog.StandInMarker + " (test double)"]).IsStandIn);
        Assert.False(Parse("trt86_summary.log").IsStandIn);
    }
}
