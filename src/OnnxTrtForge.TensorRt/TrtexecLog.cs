using System.Globalization;
using System.Text.RegularExpressions;

namespace OnnxTrtForge.TensorRt;

/// <summary>Where a trtexec run is, judged from its log. Phases only move forward.</summary>
public enum TrtexecPhase
{
    Starting,
    Parsing,
    Building,
    Tactics,
    Serializing,
    Loading,
    Inference,
    Finished,
}

/// <summary>What a log says, apart from failures.</summary>
public sealed record TrtexecLogFacts
{
    public TrtVersion? Version { get; init; }

    public bool IsStandIn { get; init; }

    /// <summary>true after <c>&amp;&amp;&amp;&amp; PASSED</c>, false after <c>&amp;&amp;&amp;&amp; FAILED</c>, null when neither was printed.</summary>
    public bool? Passed { get; init; }

    public double? BuildSeconds { get; init; }

    public double? EngineSizeMiB { get; init; }

    public double? ParseSeconds { get; init; }

    public double? DeserializeSeconds { get; init; }

    public PerformanceSummary? Summary { get; init; }

    /// <summary>Error lines (<c>[E]</c>), prefixes stripped, in order.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>
/// Reads trtexec logs in every format drift TRTEXEC.md lists: 8.4+ one-line summaries with 90/95/99
/// percentiles, 8.0's single percentile and End-to-End line, TensorRT 7's multi-line blocks, hand-edited
/// lines without '=', warnings after the summary, lines with or without timestamps.
/// </summary>
public static partial class TrtexecLog
{
    /// <summary>Text whose presence marks a stand-in (test double) rather than the real trtexec.</summary>
    public const string StandInMarker = "FakeTrtexec stand-in";

    public static bool IsStandInLine(string line) =>
        line.Contains("stand-in", StringComparison.OrdinalIgnoreCase) || line.Contains("test double", StringComparison.OrdinalIgnoreCase);

    /// <summary>Removes the <c>[MM/DD/YYYY-HH:MM:SS]</c>, <c>[I]</c> and <c>[TRT]</c> prefixes.</summary>
    public static string Strip(string line) => Prefix().Replace(line, "").Trim();

    /// <summary>The severity letter of a log line (I, W, E, V) or null.</summary>
    public static char? Severity(string line)
    {
        var m = SeverityPattern().Match(line);
        return m.Success ? m.Groups[1].Value[0] : null;
    }

    public static TrtexecPhase? PhaseOf(string line)
    {
        var s = Strip(line);
        if (s.StartsWith("&&&& PASSED", StringComparison.Ordinal) || s.StartsWith("&&&& FAILED", StringComparison.Ordinal))
        {
            return TrtexecPhase.Finished;
        }

        if (s.StartsWith("Starting inference", StringComparison.Ordinal) || s.StartsWith("Warmup completed", StringComparison.Ordinal)
            || s.StartsWith("=== Performance summary", StringComparison.Ordinal))
        {
            return TrtexecPhase.Inference;
        }

        if (s.StartsWith("Loading supplied engine", StringComparison.OrdinalIgnoreCase) || s.StartsWith("Engine loaded in", StringComparison.Ordinal)
            || s.StartsWith("Engine deserialized in", StringComparison.Ordinal))
        {
            return TrtexecPhase.Loading;
        }

        if (s.StartsWith("Engine built in", StringComparison.Ordinal) || s.StartsWith("Created engine with size", StringComparison.Ordinal)
            || s.StartsWith("Engine generation completed", StringComparison.Ordinal) || s.StartsWith("Saving engine", StringComparison.OrdinalIgnoreCase)
            || s.StartsWith("Serializ", StringComparison.OrdinalIgnoreCase))
        {
            return TrtexecPhase.Serializing;
        }

        if (s.Contains("Timing Runner", StringComparison.Ordinal) || s.Contains("Tactic", StringComparison.Ordinal)
            || s.Contains("Autotuner", StringComparison.Ordinal) || s.StartsWith("Timing cache", StringComparison.OrdinalIgnoreCase))
        {
            return TrtexecPhase.Tactics;
        }

        if (s.StartsWith("Finished parsing network model", StringComparison.Ordinal) || s.StartsWith("Building engine", StringComparison.OrdinalIgnoreCase)
            || s.Contains("timing cache in use", StringComparison.OrdinalIgnoreCase) || s.StartsWith("Graph optimization time", StringComparison.Ordinal)
            || s.StartsWith("Detected ", StringComparison.Ordinal) || s.StartsWith("Set shape of input tensor", StringComparison.Ordinal))
        {
            return TrtexecPhase.Building;
        }

        if (s.StartsWith("Start parsing network model", StringComparison.Ordinal) || s.StartsWith("Input filename", StringComparison.Ordinal)
            || s.StartsWith("ONNX IR version", StringComparison.Ordinal) || s.StartsWith("Parsing", StringComparison.OrdinalIgnoreCase)
            || s.StartsWith("=== Model Options", StringComparison.Ordinal))
        {
            return TrtexecPhase.Parsing;
        }

        return null;
    }

    public static TrtexecLogFacts Parse(IEnumerable<string> lines)
    {
        TrtVersion? version = null;
        bool standIn = false;
        bool? passed = null;
        double? build = null, size = null, parse = null, deserialize = null;
        var errors = new List<string>();
        var summary = new SummaryReader();
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            version ??= TrtVersion.FromLogLine(line);
            standIn |= IsStandInLine(line);
            var s = Strip(line);
            if (s.StartsWith("&&&& PASSED", StringComparison.Ordinal))
            {
                passed = true;
            }
            else if (s.StartsWith("&&&& FAILED", StringComparison.Ordinal))
            {
                passed = false;
            }

            if (Severity(line) == 'E')
            {
                errors.Add(s);
            }

            if (Match(EngineBuilt(), s) is { } b)
            {
                build = b;
            }
            else if (build is null && Match(EngineGeneration(), s) is { } g)
            {
                build = g;
            }

            if (EngineSize().Match(s) is { Success: true } sz)
            {
                size = ToMiB(Number(sz.Groups[1].Value), sz.Groups[2].Value);
            }

            parse = Match(ParseTime(), s) ?? parse;
            deserialize = Match(Deserialized(), s) ?? deserialize;
            summary.Accept(s, Severity(line));
        }

        return new TrtexecLogFacts
        {
            Version = version,
            IsStandIn = standIn,
            Passed = passed,
            BuildSeconds = build,
            EngineSizeMiB = size,
            ParseSeconds = parse,
            DeserializeSeconds = deserialize,
            Summary = summary.Result(),
            Errors = errors,
        };
    }

    public static TrtexecLogFacts ParseFile(string path) => Parse(File.ReadLines(path));

    internal static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static double? Match(Regex regex, string s)
    {
        var m = regex.Match(s);
        return m.Success ? Number(m.Groups[1].Value) : null;
    }

    private static double ToMiB(double value, string unit) => unit.ToUpperInvariant() switch
    {
        "B" or "BYTES" => value / (1024 * 1024),
        "KB" or "KIB" => value / 1024,
        "GB" or "GIB" => value * 1024,
        _ => value,
    };

    internal static double ToMs(double value, string? unit) => unit?.ToLowerInvariant() switch
    {
        "s" or "sec" => value * 1000,
        "us" or "µs" => value / 1000,
        _ => value,
    };

    /// <summary>Accumulates the performance summary across lines, including TensorRT 7's multi-line blocks.</summary>
    private sealed class SummaryReader
    {
        private readonly Dictionary<string, LatencyStats> stats = new(StringComparer.Ordinal);
        private readonly List<string> warnings = [];
        private readonly Dictionary<string, double> block = new(StringComparer.Ordinal);
        private readonly Dictionary<string, double> endToEndBlock = new(StringComparer.Ordinal);
        private double? throughput, walltime, gpuTotal;
        private int? queries;
        private string? blockName;
        private bool seen;

        public void Accept(string s, char? severity)
        {
            if (s.StartsWith("=== Performance summary", StringComparison.Ordinal))
            {
                seen = true;
                return;
            }

            if (Named(s) is { } named)
            {
                Flush();
                seen = true;
                var key = named.Name;
                if (Figures(named.Figures) is { } figures)
                {
                    stats[key] = figures;
                }

                return;
            }

            if (TrtSevenBlockStart().Match(s) is { Success: true } start)
            {
                Flush();
                seen = true;
                blockName = start.Groups[1].Value switch
                {
                    "Host Latency" => "Latency",
                    "GPU Compute" => "GPU Compute Time",
                    var other => other,
                };
                return;
            }

            if (blockName is not null && TrtSevenFigure().Match(s) is { Success: true } f)
            {
                var name = f.Groups[1].Value == "percentile" ? "p" + f.Groups[4].Value : f.Groups[1].Value;
                block[name] = ToMs(Number(f.Groups[2].Value), f.Groups[3].Value);
                if (f.Groups[5].Success)
                {
                    endToEndBlock[name] = ToMs(Number(f.Groups[5].Value), f.Groups[6].Value);
                }

                return;
            }

            if (Scalar(Throughput(), s) is { } qps)
            {
                throughput = qps;
                seen = true;
            }
            else if (TotalWalltime().Match(s) is { Success: true } w)
            {
                walltime = ToMs(Number(w.Groups[1].Value), w.Groups[2].Value) / 1000;
            }
            else if (TotalGpu().Match(s) is { Success: true } t)
            {
                gpuTotal = ToMs(Number(t.Groups[1].Value), t.Groups[2].Value) / 1000;
            }
            else if (Queries().Match(s) is { Success: true } q)
            {
                queries = int.Parse(q.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            else if (seen && severity == 'W')
            {
                warnings.Add(s.TrimStart('*', ' '));
            }
        }

        public PerformanceSummary? Result()
        {
            Flush();
            if (!seen)
            {
                return null;
            }

            return new PerformanceSummary
            {
                ThroughputQps = throughput,
                Latency = Get("Latency"),
                EndToEndHostLatency = Get("End-to-End Host Latency"),
                GpuCompute = Get("GPU Compute Time") ?? Get("GPU Compute"),
                Enqueue = Get("Enqueue Time"),
                H2D = Get("H2D Latency"),
                D2H = Get("D2H Latency"),
                TotalHostWalltimeSeconds = walltime,
                TotalGpuComputeSeconds = gpuTotal,
                Queries = queries,
                Warnings = warnings,
            };
        }

        private LatencyStats? Get(string key) => stats.TryGetValue(key, out var v) ? v : null;

        private void Flush()
        {
            if (blockName is null)
            {
                return;
            }

            if (FromBlock(block) is { } s)
            {
                stats[blockName] = s;
            }

            if (blockName == "Latency" && FromBlock(endToEndBlock) is { } e)
            {
                stats["End-to-End Host Latency"] = e;
            }

            block.Clear();
            endToEndBlock.Clear();
            blockName = null;
        }

        private static LatencyStats? FromBlock(Dictionary<string, double> b) =>
            b.TryGetValue("min", out var min) && b.TryGetValue("max", out var max) && b.TryGetValue("mean", out var mean)
                ? new LatencyStats(min, max, mean, b.TryGetValue("median", out var med) ? med : double.NaN, P(b, "p90"), P(b, "p95"), P(b, "p99"))
                : null;

        private static double? P(Dictionary<string, double> b, string key) => b.TryGetValue(key, out var v) ? v : null;

        private static double? Scalar(Regex regex, string s)
        {
            var m = regex.Match(s);
            return m.Success ? Number(m.Groups[1].Value) : null;
        }

        private static (string Name, string Figures)? Named(string s)
        {
            var m = SummaryLine().Match(s);
            return m.Success ? (m.Groups[1].Value, m.Groups[2].Value) : null;
        }

        private static LatencyStats? Figures(string rest)
        {
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (Match m in FigurePattern().Matches(rest))
            {
                var key = m.Groups[1].Value.StartsWith("percentile", StringComparison.Ordinal)
                    ? "p" + Number(m.Groups[2].Value).ToString(CultureInfo.InvariantCulture)
                    : m.Groups[1].Value;
                values[key] = ToMs(Number(m.Groups[3].Value), m.Groups[4].Success ? m.Groups[4].Value : null);
            }

            return FromBlock(values);
        }
    }

    [GeneratedRegex(@"^(?:\s*\[\d{2}/\d{2}/\d{4}-\d{2}:\d{2}:\d{2}\])?(?:\s*\[[IWEVF]\])?(?:\s*\[TRT\])?\s*")]
    private static partial Regex Prefix();

    [GeneratedRegex(@"^(?:\s*\[\d{2}/\d{2}/\d{4}-\d{2}:\d{2}:\d{2}\])?\s*\[([IWEVF])\]")]
    private static partial Regex SeverityPattern();

    [GeneratedRegex(@"^Engine built in\s+([-+0-9.eE]+)\s*s", RegexOptions.IgnoreCase)]
    private static partial Regex EngineBuilt();

    [GeneratedRegex(@"^Engine generation completed in\s+([-+0-9.eE]+)\s*s", RegexOptions.IgnoreCase)]
    private static partial Regex EngineGeneration();

    [GeneratedRegex(@"^Created engine with size:?\s*([-+0-9.eE]+)\s*(MiB|MB|KiB|KB|GiB|GB|B|bytes)?", RegexOptions.IgnoreCase)]
    private static partial Regex EngineSize();

    [GeneratedRegex(@"Parse time:?\s*([-+0-9.eE]+)")]
    private static partial Regex ParseTime();

    [GeneratedRegex(@"^Engine (?:deserialized|loaded) in\s+([-+0-9.eE]+)\s*s", RegexOptions.IgnoreCase)]
    private static partial Regex Deserialized();

    [GeneratedRegex(@"^(Latency|End-to-End Host Latency|Enqueue Time|H2D Latency|GPU Compute Time|GPU Compute|D2H Latency)\s*:\s*(min\b.*)$")]
    private static partial Regex SummaryLine();

    [GeneratedRegex(@"(min|max|mean|median|percentile\(\s*([0-9.]+)\s*%\s*\))\s*[=:]?\s*([-+0-9.eE]+)\s*(ms|us|s)?\b")]
    private static partial Regex FigurePattern();

    [GeneratedRegex(@"^(Host Latency|Enqueue Time|GPU Compute|H2D Latency|D2H Latency)\s*$")]
    private static partial Regex TrtSevenBlockStart();

    [GeneratedRegex(@"^(min|max|mean|median|percentile)\s*[=:]?\s*([-+0-9.eE]+)\s*(ms|us|s)?(?:\s*at\s*([0-9.]+)%)?(?:\s*\(end to end\s*([-+0-9.eE]+)\s*(ms|us|s)?(?:\s*at\s*[0-9.]+%)?\))?")]
    private static partial Regex TrtSevenFigure();

    [GeneratedRegex(@"^Throughput\s*[=:]?\s*([-+0-9.eE]+)\s*qps", RegexOptions.IgnoreCase)]
    private static partial Regex Throughput();

    [GeneratedRegex(@"^(?:Total Host Walltime|walltime)\s*[=:]?\s*([-+0-9.eE]+)\s*(ms|s)?", RegexOptions.IgnoreCase)]
    private static partial Regex TotalWalltime();

    [GeneratedRegex(@"^(?:Total GPU Compute Time|total compute time)\s*[=:]?\s*([-+0-9.eE]+)\s*(ms|s)?", RegexOptions.IgnoreCase)]
    private static partial Regex TotalGpu();

    [GeneratedRegex(@"^Timing trace has\s+(\d+)\s+queries")]
    private static partial Regex Queries();
}
