using System.Globalization;
using System.Text;
using OnnxTrtForge.Core.Reports;

namespace OnnxTrtForge.TensorRt;

/// <summary>The report of <c>forge build</c> (JSON or Markdown).</summary>
public sealed record BuildReport
{
    public required string Status { get; init; }

    public required string Onnx { get; init; }

    public required string Engine { get; init; }

    public required string TensorRtVersion { get; init; }

    public required string Trtexec { get; init; }

    /// <summary>Set when the trtexec used was a stand-in: the engine is not a real TensorRT engine.</summary>
    public string? StandIn { get; init; }

    public required string Gpu { get; init; }

    public string? CacheKey { get; init; }

    public bool CacheHit { get; init; }

    public double? BuildSeconds { get; init; }

    public double? EngineSizeMiB { get; init; }

    public long? EngineBytes { get; init; }

    public double ElapsedSeconds { get; init; }

    public string? TimingCache { get; init; }

    public int? LayerCount { get; init; }

    public IReadOnlyDictionary<string, int>? LayerTypes { get; init; }

    public FailureReason? Failure { get; init; }

    public string? Log { get; init; }

    public IReadOnlyList<string> Arguments { get; init; } = [];

    public IReadOnlyList<string> LogTail { get; init; } = [];

    public static BuildReport From(EngineBuildResult r)
    {
        var ok = r as EngineBuildSuccess;
        return new BuildReport
        {
            Status = ok is not null ? (ok.CacheHit ? "cache-hit" : "built") : "failed",
            Onnx = r.OnnxPath,
            Engine = r.EnginePath,
            TensorRtVersion = r.Tool.Version.ToString(),
            Trtexec = r.Tool.Path,
            StandIn = r.StandIn ? TrtexecTool.StandInNotice : null,
            Gpu = r.Gpu.ToString(),
            CacheKey = r.CacheKey?.Hash,
            CacheHit = ok?.CacheHit ?? false,
            BuildSeconds = ok?.BuildSeconds,
            EngineSizeMiB = ok?.EngineSizeMiB,
            EngineBytes = ok?.EngineBytes,
            ElapsedSeconds = r.Elapsed.TotalSeconds,
            TimingCache = ok?.TimingCachePath,
            LayerCount = ok?.LayerInfo?.LayerCount,
            LayerTypes = ok?.LayerInfo?.LayerTypes,
            Failure = (r as EngineBuildFailure)?.Reason,
            Log = r.LogPath,
            Arguments = r.Arguments,
            LogTail = ok is null ? r.LogTail : [],
        };
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("# forge build: ").Append(Status).Append("\n\n");
        if (StandIn is not null)
        {
            md.Append("> **").Append(StandIn).Append("**: trtexec here was a stand-in; nothing below measures TensorRT.\n\n");
        }

        md.Append("| | |\n|---|---|\n");
        Row(md, "ONNX", Onnx);
        Row(md, "engine", Engine);
        Row(md, "TensorRT", TensorRtVersion + (StandIn is null ? "" : " (stand-in)"));
        Row(md, "trtexec", Trtexec);
        Row(md, "GPU", Gpu);
        Row(md, "cache", CacheKey is null ? "off" : (CacheHit ? "hit " : "miss ") + CacheKey);
        Row(md, "build time", BuildSeconds is { } b ? N(b) + " s" : null);
        Row(md, "engine size", EngineSizeMiB is { } s ? N(s) + " MiB" : EngineBytes is { } bytes ? Format.Bytes(bytes) : null);
        Row(md, "timing cache", TimingCache);
        Row(md, "layers", LayerCount is { } layerCount ? layerCount.ToString(CultureInfo.InvariantCulture) + (LayerTypes is { Count: > 0 } types ? " (" + string.Join(", ", types.OrderByDescending(t => t.Value).Select(t => $"{t.Key} {t.Value}")) + ")" : "") : null);
        Row(md, "log", Log);
        if (Failure is not null)
        {
            Row(md, "failure", $"{Failure.Kind}: {Failure.Message}");
        }

        if (Arguments.Count > 0)
        {
            md.Append("\n```\ntrtexec ").Append(string.Join(' ', Arguments)).Append("\n```\n");
        }

        if (LogTail.Count > 0)
        {
            md.Append("\nLog tail:\n\n```\n").AppendJoin('\n', LogTail).Append("\n```\n");
        }

        return md.ToString();
    }

    internal static void Row(StringBuilder md, string name, string? value)
    {
        if (value is not null)
        {
            md.Append("| ").Append(name).Append(" | ").Append(value.Replace("|", "\\|", StringComparison.Ordinal)).Append(" |\n");
        }
    }

    internal static string N(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>One row of the latency table.</summary>
public sealed record LatencyRow(string Metric, double Min, double Median, double Mean, double? P90, double? P95, double? P99, double Max);

/// <summary>The report of <c>forge bench</c> (JSON or Markdown).</summary>
public sealed record BenchReport
{
    public required string Status { get; init; }

    public required string Engine { get; init; }

    public required string TensorRtVersion { get; init; }

    public string? StandIn { get; init; }

    public string? Source { get; init; }

    public int? Queries { get; init; }

    public double? ThroughputQps { get; init; }

    public IReadOnlyList<LatencyRow> Latency { get; init; } = [];

    public IReadOnlyList<string> Warnings { get; init; } = [];

    public IReadOnlyList<LayerTime> TopLayers { get; init; } = [];

    public FailureReason? Failure { get; init; }

    public string? Log { get; init; }

    public IReadOnlyList<string> LogTail { get; init; } = [];

    public static BenchReport From(BenchResult r)
    {
        var ok = r as BenchSuccess;
        return new BenchReport
        {
            Status = ok is null ? "failed" : "ok",
            Engine = r.EnginePath,
            TensorRtVersion = r.Tool.Version.ToString(),
            StandIn = r.StandIn ? TrtexecTool.StandInNotice : null,
            Source = ok?.Source,
            Queries = ok?.Summary.Queries,
            ThroughputQps = ok?.Summary.ThroughputQps,
            Latency = ok is null ? [] : Rows(ok.Summary),
            Warnings = ok?.Summary.Warnings ?? [],
            TopLayers = ok?.Profile?.Layers.OrderByDescending(l => l.TimeMs).Take(10).ToList() ?? [],
            Failure = (r as BenchFailure)?.Reason,
            Log = r.LogPath,
            LogTail = ok is null ? r.LogTail : [],
        };
    }

    public static IReadOnlyList<LatencyRow> Rows(PerformanceSummary s)
    {
        var rows = new List<LatencyRow>();
        void Add(string name, LatencyStats? x)
        {
            if (x is not null)
            {
                rows.Add(new LatencyRow(name, x.Min, x.Median, x.Mean, x.P90, x.P95, x.P99, x.Max));
            }
        }

        Add("GPU compute", s.GpuCompute);
        Add("end-to-end", s.EndToEnd);
        Add("enqueue", s.Enqueue);
        Add("H2D", s.H2D);
        Add("D2H", s.D2H);
        return rows;
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("# forge bench: ").Append(Status).Append("\n\n");
        if (StandIn is not null)
        {
            md.Append("> **").Append(StandIn).Append("**: these figures come from a stand-in, not from TensorRT.\n\n");
        }

        md.Append("Engine `").Append(Engine).Append("`, TensorRT ").Append(TensorRtVersion);
        if (Queries is { } q)
        {
            md.Append(", ").Append(q.ToString(CultureInfo.InvariantCulture)).Append(" queries (from ").Append(Source).Append(')');
        }

        if (ThroughputQps is { } qps)
        {
            md.Append(", throughput ").Append(BuildReport.N(qps)).Append(" qps");
        }

        md.Append("\n\n");
        if (Latency.Count > 0)
        {
            md.Append("| ms | min | median | mean | p90 | p95 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
            foreach (var r in Latency)
            {
                md.Append(CultureInfo.InvariantCulture, $"| {r.Metric} | {BuildReport.N(r.Min)} | {BuildReport.N(r.Median)} | {BuildReport.N(r.Mean)} | {O(r.P90)} | {O(r.P95)} | {O(r.P99)} | {BuildReport.N(r.Max)} |\n");
            }
        }

        foreach (var w in Warnings)
        {
            md.Append("\n- warning: ").Append(w);
        }

        if (Failure is not null)
        {
            md.Append("\nFailure: ").Append(Failure.Kind).Append(": ").Append(Failure.Message).Append('\n');
        }

        if (LogTail.Count > 0)
        {
            md.Append("\n```\n").AppendJoin('\n', LogTail).Append("\n```\n");
        }

        return md.ToString();
    }

    private static string O(double? v) => v is { } x ? BuildReport.N(x) : "–";
}

/// <summary>Writes a report as JSON or Markdown by the file's extension, atomically.</summary>
public static class EngineReportFile
{
    public static void Write(string path, object report, Func<string> markdown)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var text = ext switch
        {
            ".json" => ReportJson.Serialize(report, TensorRtJson.Reports),
            ".md" or ".markdown" => markdown(),
            _ => throw new OnnxTrtForge.Core.Ir.ForgeInputException($"--report {path}: use a .json or .md file"),
        };
        AtomicFile.WriteAllText(path, text);
    }
}
