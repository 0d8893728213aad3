namespace OnnxTrtForge.TensorRt;

/// <summary>Latency figures in milliseconds. Percentiles a log did not print are null.</summary>
public sealed record LatencyStats(double Min, double Max, double Mean, double Median, double? P90, double? P95, double? P99)
{
    /// <summary>Recomputes the figures from samples the way trtexec does (median of an even count averages the middle two;
    /// percentile p takes the sorted sample at floor(n·p/100), clamped to the last).</summary>
    public static LatencyStats? FromSamples(IEnumerable<double> samples)
    {
        var sorted = samples.Where(double.IsFinite).ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        Array.Sort(sorted);
        var n = sorted.Length;
        var median = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
        return new LatencyStats(sorted[0], sorted[^1], sorted.Average(), median, Percentile(sorted, 90), Percentile(sorted, 95), Percentile(sorted, 99));
    }

    public static double Percentile(double[] sorted, double percentile)
    {
        var index = (int)Math.Floor(sorted.Length * percentile / 100.0);
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}

/// <summary>trtexec's performance summary (or the same figures recomputed from <c>--exportTimes</c>).</summary>
public sealed record PerformanceSummary
{
    public double? ThroughputQps { get; init; }

    /// <summary>Host latency per query (H2D + compute + D2H as seen by the host): trtexec's "Latency" line.</summary>
    public LatencyStats? Latency { get; init; }

    /// <summary>TensorRT 8.0's "End-to-End Host Latency" (later versions fold it into "Latency").</summary>
    public LatencyStats? EndToEndHostLatency { get; init; }

    public LatencyStats? GpuCompute { get; init; }

    public LatencyStats? Enqueue { get; init; }

    public LatencyStats? H2D { get; init; }

    public LatencyStats? D2H { get; init; }

    public double? TotalHostWalltimeSeconds { get; init; }

    public double? TotalGpuComputeSeconds { get; init; }

    public int? Queries { get; init; }

    /// <summary>Warnings trtexec printed with or after the summary (unstable timings and the like).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>End to end: the 8.0 end-to-end line when present, else "Latency".</summary>
    public LatencyStats? EndToEnd => EndToEndHostLatency ?? Latency;
}
