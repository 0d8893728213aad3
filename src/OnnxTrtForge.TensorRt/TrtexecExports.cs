using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>One layer of <c>--exportProfile</c>.</summary>
public sealed record LayerTime(string Name, double TimeMs, double AverageMs, double? MedianMs, double Percentage);

/// <summary><c>--exportProfile</c>: the profiled run count and each layer's time.</summary>
public sealed record LayerProfile(int Count, IReadOnlyList<LayerTime> Layers);

/// <summary><c>--exportLayerInfo</c>: the engine's layers (names, and types when profiling verbosity was detailed).</summary>
public sealed record LayerInfo(int LayerCount, IReadOnlyList<string> Names, IReadOnlyDictionary<string, int> LayerTypes, IReadOnlyList<string> Bindings);

/// <summary>One tensor of <c>--exportOutput</c>.</summary>
public sealed record ExportedOutput(string Name, long[] Dims, float[] Values)
{
    public Tensor ToTensor() => Tensor.FromFloats(Dims, Values, Name);
}

/// <summary>Reads trtexec's JSON exports. forge prefers them to scraping the log.</summary>
public static partial class TrtexecExports
{
    /// <summary>Recomputes the summary from <c>--exportTimes</c> (warm-up already excluded by trtexec).</summary>
    public static PerformanceSummary ReadTimes(string path)
    {
        using var doc = Load(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{path}: --exportTimes output is not a JSON array");
        }

        var latency = new List<double>();
        var compute = new List<double>();
        var enqueue = new List<double>();
        var h2d = new List<double>();
        var d2h = new List<double>();
        double first = double.MaxValue, last = double.MinValue;
        var count = 0;
        foreach (var q in doc.RootElement.EnumerateArray())
        {
            count++;
            AddOrSpan(latency, q, "latencyMs", "startH2dMs", "endD2hMs");
            AddOrSpan(compute, q, "computeMs", "startComputeMs", "endComputeMs");
            AddOrSpan(h2d, q, "h2dMs", "startH2dMs", "endH2dMs");
            AddOrSpan(d2h, q, "d2hMs", "startD2hMs", "endD2hMs");
            if (Get(q, "startEnqMs") is { } se && Get(q, "endEnqMs") is { } ee)
            {
                enqueue.Add(ee - se);
                first = Math.Min(first, se);
            }

            if ((Get(q, "endD2hMs") ?? Get(q, "endComputeMs")) is { } end)
            {
                last = Math.Max(last, end);
            }
        }

        var walltime = count > 0 && last > first ? (last - first) / 1000 : (double?)null;
        return new PerformanceSummary
        {
            Queries = count,
            Latency = LatencyStats.FromSamples(latency),
            GpuCompute = LatencyStats.FromSamples(compute),
            Enqueue = LatencyStats.FromSamples(enqueue),
            H2D = LatencyStats.FromSamples(h2d),
            D2H = LatencyStats.FromSamples(d2h),
            TotalHostWalltimeSeconds = walltime,
            TotalGpuComputeSeconds = compute.Count > 0 ? compute.Sum() / 1000 : null,
            ThroughputQps = walltime is > 0 ? count / walltime : null,
        };
    }

    public static LayerProfile ReadProfile(string path)
    {
        using var doc = Load(path);
        var count = 0;
        var layers = new List<LayerTime>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.TryGetProperty("count", out var c) && !e.TryGetProperty("name", out _))
            {
                count = c.GetInt32();
                continue;
            }

            layers.Add(new LayerTime(
                e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "",
                Get(e, "timeMs") ?? 0,
                Get(e, "averageMs") ?? 0,
                Get(e, "medianMs"),
                Get(e, "percentage") ?? 0));
        }

        return new LayerProfile(count, layers);
    }

    public static LayerInfo ReadLayerInfo(string path)
    {
        using var doc = Load(path);
        var root = doc.RootElement;
        var names = new List<string>();
        var types = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var bindings = new List<string>();
        var layers = root.ValueKind == JsonValueKind.Array ? root : root.TryGetProperty("Layers", out var l) ? l : default;
        if (layers.ValueKind == JsonValueKind.Array)
        {
            foreach (var layer in layers.EnumerateArray())
            {
                if (layer.ValueKind == JsonValueKind.String)
                {
                    names.Add(layer.GetString()!);
                    continue;
                }

                names.Add(layer.TryGetProperty("Name", out var n) ? n.GetString() ?? "" : "");
                if (layer.TryGetProperty("LayerType", out var t) && t.GetString() is { } type)
                {
                    types[type] = types.GetValueOrDefault(type) + 1;
                }
            }
        }

        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Bindings", out var b) && b.ValueKind == JsonValueKind.Array)
        {
            bindings.AddRange(b.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()));
        }

        return new LayerInfo(names.Count, names, types, bindings);
    }

    /// <summary>Reads <c>--exportOutput</c>. trtexec prints non-finite values bare (nan, inf), which is not JSON; they are read too.</summary>
    /// <exception cref="FormatException">The file is not an export of outputs (truncated, malformed, values that do not fill the dims).</exception>
    public static IReadOnlyList<ExportedOutput> ReadOutputs(string path)
    {
        try
        {
            return ParseOutputs(path);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"{path}: not an export of outputs ({e.Message})", e);
        }
    }

    private static List<ExportedOutput> ParseOutputs(string path)
    {
        var text = NonFinite().Replace(File.ReadAllText(path), m => Quote(m.Groups[1].Value));
        using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true });
        var result = new List<ExportedOutput>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var name = e.GetProperty("name").GetString() ?? "";
            var dims = e.TryGetProperty("dimensions", out var d) && d.ValueKind == JsonValueKind.String && ShapeProfile.TryParseDims(d.GetString()!, out var parsed)
                ? parsed
                : [];
            var values = new List<float>();
            if (e.TryGetProperty("values", out var v))
            {
                foreach (var x in v.EnumerateArray())
                {
                    values.Add(x.ValueKind == JsonValueKind.String ? ParseNamed(x.GetString()!) : (float)x.GetDouble());
                }
            }

            if (dims.Length == 0 && values.Count != 1)
            {
                dims = [values.Count];
            }

            long expected = dims.Aggregate(1L, (a, b) => a * b);
            if (expected != values.Count)
            {
                throw new FormatException($"{path}: output '{name}' has dimensions {ShapeProfile.FormatDims(dims)} but {values.Count} values");
            }

            result.Add(new ExportedOutput(name, dims, values.ToArray()));
        }

        return result;
    }

    private static string Quote(string token) => "\"" + token + "\"";

    private static float ParseNamed(string s) => s.Trim().ToLowerInvariant() switch
    {
        "nan" or "-nan" or "+nan" => float.NaN,
        "inf" or "+inf" or "infinity" => float.PositiveInfinity,
        "-inf" or "-infinity" => float.NegativeInfinity,
        var other => float.Parse(other, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static JsonDocument Load(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Takes a duration field, or computes it from its start/end fields when a writer left it out.</summary>
    private static void AddOrSpan(List<double> list, JsonElement e, string name, string start, string end)
    {
        if (Get(e, name) is { } v)
        {
            list.Add(v);
        }
        else if (Get(e, start) is { } s && Get(e, end) is { } f)
        {
            list.Add(f - s);
        }
    }

    private static double? Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number ? p.GetDouble() : null;

    [GeneratedRegex(@"(?<=[\[,:]\s*)([+-]?(?:nan|inf|infinity))(?=\s*[\],}])", RegexOptions.IgnoreCase)]
    private static partial Regex NonFinite();
}
