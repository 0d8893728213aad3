using System.Globalization;
using System.Text.Json;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Benchmarks;

/// <summary>The statistics of one external tensor: where it lies in the weights file and what its values look like.</summary>
public sealed record TensorStats(DataType Type, IReadOnlyList<long> Dims, long Offset, long Length, double Mean, double Std, double Min, double Max);

/// <summary>
/// A <c>.stats.json</c> file beside a graph-only export: for every external tensor its dtype (ONNX code),
/// dims, offset and length in the weights file, and the mean, std, min and max of its real values.
/// </summary>
public sealed record WeightStatsFile(string Source, long Nodes, long WeightsBytes, IReadOnlyDictionary<string, TensorStats> Tensors)
{
    public static WeightStatsFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ForgeInputException($"{path}: file not found");
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var tensors = new Dictionary<string, TensorStats>(StringComparer.Ordinal);
            foreach (var entry in root.GetProperty("tensors").EnumerateObject())
            {
                var t = entry.Value;
                tensors[entry.Name] = new TensorStats(
                    (DataType)t.GetProperty("dtype").GetInt32(),
                    t.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
                    t.GetProperty("offset").GetInt64(),
                    t.GetProperty("length").GetInt64(),
                    Number(t, "mean"),
                    Number(t, "std"),
                    Number(t, "min"),
                    Number(t, "max"));
            }

            return new WeightStatsFile(
                root.TryGetProperty("source", out var s) ? s.GetString() ?? "" : "",
                root.TryGetProperty("nodes", out var n) ? n.GetInt64() : 0,
                root.TryGetProperty("weights_bytes", out var w) ? w.GetInt64() : tensors.Values.Sum(t => t.Length),
                tensors);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ForgeInputException($"{path}: not a weight statistics file: {e.Message}", e);
        }
    }

    private static double Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    /// <summary>
    /// The statistics of a model's external tensors, read from its weights (streamed, 1 MiB at a time).
    /// Makes the graph-only fixture of any model whose weights are too large to ship.
    /// </summary>
    public static WeightStatsFile Compute(string modelPath)
    {
        using var model = OnnxReader.Load(modelPath);
        var refs = ExternalDataIndex.Read(modelPath);
        var byName = model.Graph.Initializers.Where(v => v.Initializer is not null).ToDictionary(v => v.Name, v => v.Initializer!, StringComparer.Ordinal);
        var tensors = new Dictionary<string, TensorStats>(StringComparer.Ordinal);
        foreach (var r in refs)
        {
            if (!byName.TryGetValue(r.Name, out var tensor))
            {
                throw new ForgeInputException($"{modelPath}: external tensor '{r.Name}' is not an initializer of the main graph");
            }

            var (mean, std, min, max) = Moments(tensor);
            tensors[r.Name] = new TensorStats(r.Type, r.Dims, r.Offset, tensor.ByteLength, mean, std, min, max);
        }

        return new WeightStatsFile(Path.GetFileName(modelPath), model.Graph.Nodes.Count, tensors.Values.Sum(t => t.Length), tensors);
    }

    private static (double Mean, double Std, double Min, double Max) Moments(Tensor tensor)
    {
        var size = tensor.Type.ElementSize();
        var buffer = new byte[1 << 20];
        double sum = 0, sumSquares = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        long count = 0;
        for (long done = 0; done < tensor.ByteLength; done += buffer.Length)
        {
            var n = (int)Math.Min(buffer.Length, tensor.ByteLength - done);
            tensor.Data.Read(done, buffer.AsSpan(0, n));
            for (var i = 0; i + size <= n; i += size)
            {
                double x = tensor.Type switch
                {
                    DataType.Float => BitConverter.ToSingle(buffer, i),
                    DataType.Float16 => (double)BitConverter.ToHalf(buffer, i),
                    DataType.Double => BitConverter.ToDouble(buffer, i),
                    DataType.Int64 => BitConverter.ToInt64(buffer, i),
                    DataType.Int32 => BitConverter.ToInt32(buffer, i),
                    _ => throw new ForgeInputException($"tensor '{tensor.Name}': statistics of {tensor.Type.OnnxName()} tensors are not supported"),
                };
                sum += x;
                sumSquares += x * x;
                min = Math.Min(min, x);
                max = Math.Max(max, x);
                count++;
            }
        }

        var mean = count == 0 ? 0 : sum / count;
        var variance = count == 0 ? 0 : Math.Max(0, (sumSquares / count) - (mean * mean));
        return (mean, Math.Sqrt(variance), count == 0 ? 0 : min, count == 0 ? 0 : max);
    }

    public void Save(string path)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteString("source", Source);
        json.WriteNumber("nodes", Nodes);
        json.WriteNumber("weights_bytes", WeightsBytes);
        json.WriteStartObject("tensors");
        foreach (var (name, t) in Tensors)
        {
            json.WriteStartObject(name);
            json.WriteNumber("dtype", (int)t.Type);
            json.WriteStartArray("dims");
            foreach (var d in t.Dims)
            {
                json.WriteNumberValue(d);
            }

            json.WriteEndArray();
            json.WriteNumber("mean", t.Mean);
            json.WriteNumber("std", t.Std);
            json.WriteNumber("min", t.Min);
            json.WriteNumber("max", t.Max);
            json.WriteNumber("offset", t.Offset);
            json.WriteNumber("length", t.Length);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Source}: {Tensors.Count} tensors, {WeightsBytes} bytes");
}
