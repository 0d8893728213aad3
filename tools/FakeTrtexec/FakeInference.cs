using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;

namespace FakeTrtexec;

/// <summary>"Runs" a stand-in engine: ONNX Runtime (CPU) on the ONNX the engine names, timed like trtexec times,
/// with trtexec's summary and JSON exports. The timings are ONNX Runtime CPU timings, not TensorRT's.</summary>
internal sealed class FakeInference(FakeVersion version, FakeOptions options, FakeLog log, string? fail)
{
    public int Run(string enginePath)
    {
        log.Info("Loading supplied engine: " + enginePath);
        var (onnx, profiles) = ReadEngine(enginePath);
        log.Info("Engine deserialized in 0.0012 sec.");
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, sessionOptions);
        var shapes = FakeOptions.NameValueList(options.Get("shapes"));
        var files = FakeOptions.NameValueList(options.Get("loadInputs"));
        var inputNames = session.InputMetadata.Keys.ToList();
        foreach (var name in shapes.Keys.Where(n => !inputNames.Contains(n)))
        {
            throw new FakeFailure($"Cannot find input tensor with name \"{name}\" in the engine bindings! Please make sure the input tensor names are correct.");
        }

        var inputs = new List<OrtValue>();
        try
        {
            foreach (var name in inputNames)
            {
                inputs.Add(CreateInput(name, session.InputMetadata[name], profiles.GetValueOrDefault(name), shapes, files));
            }

            var outputNames = session.OutputMetadata.Keys.ToList();
            log.Info("Starting inference");
            if (fail == "hang")
            {
                log.Info("Stand-in simulating an inference run that never finishes...");
                Thread.Sleep(Timeout.Infinite);
            }

            using var runOptions = new RunOptions();
            var warmUpMs = options.GetDouble("warmUp", 200);
            var warm = Stopwatch.StartNew();
            var warmQueries = 0;
            while (warm.Elapsed.TotalMilliseconds < warmUpMs)
            {
                session.Run(runOptions, inputNames, inputs, outputNames).Dispose();
                warmQueries++;
            }

            log.Info($"Warmup completed {warmQueries} queries over {warmUpMs.ToString(CultureInfo.InvariantCulture)} ms");
            var iterations = Math.Max(1, options.GetInt("iterations", 10));
            var duration = options.GetDouble("duration", 3);
            var times = new List<double[]>();
            IDisposableReadOnlyCollection<OrtValue>? last = null;
            var clock = Stopwatch.StartNew();
            try
            {
                while (times.Count < iterations || clock.Elapsed.TotalSeconds < duration)
                {
                    var start = clock.Elapsed.TotalMilliseconds;
                    last?.Dispose();
                    last = session.Run(runOptions, inputNames, inputs, outputNames);
                    var end = clock.Elapsed.TotalMilliseconds;
                    times.Add([start, end]);
                }

                var wall = clock.Elapsed.TotalSeconds;
                log.Info($"Timing trace has {times.Count} queries over {wall.ToString("0.#####", CultureInfo.InvariantCulture)} s");
                log.Info("=== Trace details ===");
                log.Info("Trace averages of 10 runs: (stand-in: ONNX Runtime CPU timings)");
                Summary(times, wall);
                Exports(times, outputNames, last!, session);
            }
            finally
            {
                last?.Dispose();
            }

            return log.Passed();
        }
        finally
        {
            foreach (var v in inputs)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>The ONNX bytes a stand-in engine carries and its profiles, after its header is checked (magic, TensorRT version).</summary>
    private (byte[] Onnx, Dictionary<string, FakeProfile> Profiles) ReadEngine(string path)
    {
        if (!File.Exists(path))
        {
            throw new FakeFailure("Error opening engine file: " + path);
        }

        var bytes = File.ReadAllBytes(path);
        var separator = Encoding.UTF8.GetBytes("\n" + FakeBuilder.PayloadSeparator + "\n");
        var at = bytes.AsSpan().IndexOf(separator);
        var header = Encoding.UTF8.GetString(bytes, 0, at < 0 ? bytes.Length : at).Split('\n');
        if (header.Length == 0 || header[0] != FakeBuilder.EngineMagic)
        {
            throw new FakeFailure("[TRT] 1: [runtime.cpp::parsePlan::314] Error Code 1: Serialization (Serialization assertion plan->header.magicTag == rt::kPLAN_MAGIC_TAG failed.)");
        }

        var built = header.FirstOrDefault(l => l.StartsWith("tensorrt: ", StringComparison.Ordinal))?[10..];
        if (built != version.ToString())
        {
            throw new FakeFailure($"[TRT] 6: The engine plan file is not compatible with this version of TensorRT, expecting library version {version} got {built}, please rebuild.");
        }

        var length = header.FirstOrDefault(l => l.StartsWith("onnx-bytes: ", StringComparison.Ordinal))?[12..];
        var payload = at < 0 ? [] : bytes[(at + separator.Length)..];
        if (length is null || !long.TryParse(length, CultureInfo.InvariantCulture, out var n) || n != payload.Length)
        {
            throw new FakeFailure("[TRT] 1: [runtime.cpp::parsePlan::314] Error Code 1: Serialization (the stand-in engine " + path + " is truncated or corrupt)");
        }

        var profiles = header.Select(FakeProfile.FromHeaderLine).OfType<FakeProfile>().ToDictionary(p => p.Name, StringComparer.Ordinal);
        return (payload, profiles);
    }

    private OrtValue CreateInput(string name, NodeMetadata meta, FakeProfile? profile, Dictionary<string, string> shapes, Dictionary<string, string> files)
    {
        long[] dims;
        if (profile is not null)
        {
            dims = FakeProfiles.InferenceShape(profile, shapes.GetValueOrDefault(name));
        }
        else if (shapes.TryGetValue(name, out var s))
        {
            dims = FakeOptions.Dims(s);
        }
        else
        {
            dims = meta.Dimensions.Select(d => d < 0 ? 1L : d).ToArray();
            if (meta.Dimensions.Any(d => d < 0))
            {
                log.Warning($"Dynamic dimensions required for input: {name}, but no shapes were given. Automatically overriding shape to: {string.Join('x', dims)}");
            }
        }

        var type = meta.ElementDataType;
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, dims);
        var buffer = value.GetTensorMutableRawData();
        if (files.TryGetValue(name, out var file))
        {
            var bytes = File.ReadAllBytes(file);
            if (bytes.Length != buffer.Length)
            {
                value.Dispose();
                throw new FakeFailure($"Input {name}: file {file} has {bytes.Length} bytes, expected {buffer.Length} ({string.Join('x', dims)} {type})");
            }

            bytes.CopyTo(buffer);
        }
        else
        {
            var random = new Random(42);
            var floats = new float[buffer.Length / Math.Max(1, ElementSize(type))];
            if (type == TensorElementType.Float)
            {
                for (var i = 0; i < floats.Length; i++)
                {
                    floats[i] = (float)((random.NextDouble() * 2) - 1);
                }

                System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()).CopyTo(buffer);
            }
            else
            {
                buffer.Clear();
            }
        }

        return value;
    }

    private static int ElementSize(TensorElementType type) => ((DataType)(int)type).ElementSize();

    private void Summary(List<double[]> times, double wall)
    {
        var compute = times.Select(t => t[1] - t[0]).ToArray();
        var latency = compute.Select(c => c + 0.002).ToArray();
        var percentiles = (options.Get("percentile") ?? "90,95,99").Split(',').Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        log.Info("=== Performance summary ===");
        log.Info($"Throughput: {F(times.Count / wall)} qps");
        log.Info("Latency: " + Stats(latency, percentiles));
        log.Info("Enqueue Time: " + Stats(times.Select(_ => 0.001).ToArray(), percentiles));
        log.Info("H2D Latency: " + Stats(times.Select(_ => 0.001).ToArray(), percentiles));
        log.Info("GPU Compute Time: " + Stats(compute, percentiles));
        log.Info("D2H Latency: " + Stats(times.Select(_ => 0.001).ToArray(), percentiles));
        log.Info($"Total Host Walltime: {F(wall)} s");
        log.Info($"Total GPU Compute Time: {F(compute.Sum() / 1000)} s");
        var mean = compute.Average();
        var cv = compute.Length > 1 ? Math.Sqrt(compute.Sum(c => (c - mean) * (c - mean)) / compute.Length) / mean * 100 : 0;
        if (cv > 1)
        {
            log.Warning($"* GPU compute time is unstable, with coefficient of variance = {F(cv)}%.");
            log.Warning("  If not already in use, locking GPU clock frequency or adding --useSpinWait may improve the stability.");
        }

        log.Info("Explanations of the performance metrics are printed in the verbose logs.");
        log.Info("Stand-in note: these are ONNX Runtime CPU timings from FakeTrtexec, not TensorRT measurements.");
    }

    private static string Stats(double[] values, double[] percentiles)
    {
        var sorted = values.Order().ToArray();
        var n = sorted.Length;
        var median = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
        var text = new StringBuilder($"min = {F(sorted[0])} ms, max = {F(sorted[^1])} ms, mean = {F(sorted.Average())} ms, median = {F(median)} ms");
        foreach (var p in percentiles)
        {
            var index = Math.Clamp((int)Math.Floor(n * p / 100.0), 0, n - 1);
            text.Append($", percentile({p.ToString(CultureInfo.InvariantCulture)}%) = {F(sorted[index])} ms");
        }

        return text.ToString();
    }

    private static string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);

    private void Exports(List<double[]> times, List<string> outputNames, IDisposableReadOnlyCollection<OrtValue> outputs, InferenceSession session)
    {
        if (options.Get("exportTimes") is { } timesPath)
        {
            var json = new StringBuilder("[\n");
            for (var i = 0; i < times.Count; i++)
            {
                var (s, e) = (times[i][0], times[i][1]);
                json.Append(CultureInfo.InvariantCulture,
                    $"  {{ \"startEnqMs\" : {F(s)}, \"endEnqMs\" : {F(s + 0.001)}, \"startH2dMs\" : {F(s)}, \"endH2dMs\" : {F(s + 0.001)}, \"startComputeMs\" : {F(s + 0.001)}, \"endComputeMs\" : {F(e + 0.001)}, \"startD2hMs\" : {F(e + 0.001)}, \"endD2hMs\" : {F(e + 0.002)}, \"h2dMs\" : 0.001, \"computeMs\" : {F(e - s)}, \"d2hMs\" : 0.001, \"latencyMs\" : {F(e - s + 0.002)} }}");
                json.Append(i + 1 < times.Count ? ",\n" : "\n");
            }

            File.WriteAllText(timesPath, json.Append("]\n").ToString());
        }

        if (options.Get("exportProfile") is { } profilePath)
        {
            var total = times.Sum(t => t[1] - t[0]);
            var model = session.ModelMetadata.GraphName;
            var json = new StringBuilder($"[\n  {{ \"count\" : {times.Count} }}\n");
            json.Append(CultureInfo.InvariantCulture, $"  , {{ \"name\" : \"stand-in: whole graph {Escape(model)} (ONNX Runtime CPU)\", \"timeMs\" : {F(total)}, \"averageMs\" : {F(total / times.Count)}, \"medianMs\" : {F(total / times.Count)}, \"percentage\" : 100 }}\n");
            File.WriteAllText(profilePath, json.Append("]\n").ToString());
        }

        if (options.Get("exportOutput") is { } outputPath)
        {
            var json = new StringBuilder("[\n");
            for (var i = 0; i < outputNames.Count; i++)
            {
                var value = outputs[i];
                var info = value.GetTensorTypeAndShape();
                var tensor = new OnnxTrtForge.Core.Ir.Tensor((DataType)(int)info.ElementDataType, info.Shape, TensorData.FromBytes(value.GetTensorMutableRawData().ToArray()));
                var values = tensor.ToDoubleArray();
                json.Append(CultureInfo.InvariantCulture, $"  {{ \"name\" : \"{Escape(outputNames[i])}\"\n  , \"dimensions\" : \"{string.Join('x', info.Shape)}\"\n  , \"values\" : [ ");
                json.AppendJoin(", ", values.Select(v => double.IsNaN(v) ? "nan" : double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : ((float)v).ToString("R", CultureInfo.InvariantCulture)));
                json.Append(" ]\n  }").Append(i + 1 < outputNames.Count ? ",\n" : "\n");
            }

            File.WriteAllText(outputPath, json.Append("]\n").ToString());
        }
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
