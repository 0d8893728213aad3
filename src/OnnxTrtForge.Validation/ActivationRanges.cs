using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using Tensor = OnnxTrtForge.Core.Ir.Tensor;

namespace OnnxTrtForge.Validation;

/// <summary>Inputs of an activation-range measurement.</summary>
public sealed record ActivationRangeOptions
{
    /// <summary>Seed of the random inputs used when the model folder has no test_data_set_* (the same inputs as <c>--check</c>'s).</summary>
    public int Seed { get; init; }

    /// <summary>At most this many test_data_set_* folders are run.</summary>
    public int MaxDataSets { get; init; } = 3;

    /// <summary>Intermediate values fetched per run: every run recomputes the graph but holds only these, bounding memory on large models.</summary>
    public int ValuesPerRun { get; init; } = 256;
}

/// <summary>The largest magnitude of every float32 value of the main graph, the inputs it was measured on, and why it was not, if it was not.</summary>
public sealed record ActivationRangeResult(IReadOnlyDictionary<string, double> Ranges, string Inputs, string? NotMeasured)
{
    /// <summary>The largest measured magnitude, or 0 when nothing was measured.</summary>
    public double Largest => Ranges.Count == 0 ? 0 : Ranges.Values.Max();
}

/// <summary>
/// Runs a float32 model once in ONNX Runtime (CPU, graph optimizations off) on the model folder's
/// <c>test_data_set_*</c> inputs, or on seeded random inputs, with every float32 value of its main graph
/// fetched, and records each value's largest magnitude (non-finite values count as infinite). The result
/// feeds <c>to-fp16</c>'s <see cref="Core.Passes.Fp16.Fp16Options.ActivationRanges"/>: values the
/// target type cannot hold keep their nodes in float32. The model is read, never modified: a copy with the
/// extra outputs is written to a temporary folder and deleted afterwards. A model ONNX Runtime cannot run
/// is not measured (the result says why); judging it is <c>--check</c>'s job.
/// </summary>
public static class ActivationRanges
{
    public static ActivationRangeResult Measure(string modelPath, ActivationRangeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ActivationRangeOptions();
        var folder = Path.Combine(Path.GetTempPath(), "forge-ranges-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            var probe = Path.Combine(folder, "probe.onnx");
            IReadOnlyList<string> fetched;
            using (var model = OnnxReader.Load(modelPath))
            {
                fetched = ExposeFloatValues(model);
                OnnxWriter.Save(model, probe);
            }

            cancellationToken.ThrowIfCancellationRequested();
            InferenceSession session;
            try
            {
                session = OrtSessions.Create(probe, new RuntimeOptions { Optimize = false, Device = ExecutionDevice.Cpu });
            }
            catch (OnnxRuntimeException e)
            {
                return new ActivationRangeResult(new Dictionary<string, double>(), "none", $"ONNX Runtime cannot load the model: {FirstLine(e.Message)}");
            }
            catch (ForgeInputException e)
            {
                return new ActivationRangeResult(new Dictionary<string, double>(), "none", e.Message);
            }

            using (session)
            {
                var modelFolder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
                var inputNames = session.InputNames.ToList();
                var sets = OptimizeCheck.LoadDataSets(modelFolder, inputNames, [], options.MaxDataSets);
                var described = sets.Count > 0 ? string.Join(", ", sets.Select(s => s.Name)) : $"random-seed-{options.Seed}";
                if (sets.Count == 0)
                {
                    sets.Add(new OptimizeCheck.DataSet($"random-seed-{options.Seed}", OptimizeCheck.RandomInputs(session, options.Seed), null));
                }

                var ranges = new Dictionary<string, double>(StringComparer.Ordinal);
                var wanted = fetched.Concat(session.OutputNames.Where(n => session.OutputMetadata[n].ElementDataType == TensorElementType.Float))
                    .Distinct(StringComparer.Ordinal).ToList();
                foreach (var set in sets)
                {
                    try
                    {
                        Run(session, inputNames, set.Inputs, wanted, Math.Max(1, options.ValuesPerRun), ranges, cancellationToken);
                    }
                    catch (OnnxRuntimeException e)
                    {
                        return new ActivationRangeResult(new Dictionary<string, double>(), described, $"ONNX Runtime cannot run the model on {set.Name}: {FirstLine(e.Message)}");
                    }
                }

                return new ActivationRangeResult(ranges, described, null);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // a temporary folder left behind is not worth failing the run for
            }
        }
    }

    /// <summary>Makes every float32 node output of the main graph a graph output; returns their names.</summary>
    private static List<string> ExposeFloatValues(Model model)
    {
        var types = TypeConsistencyChecker.Check(model);
        var graph = model.Graph;
        var listed = new HashSet<Value>(graph.Outputs);
        var added = new List<string>();
        foreach (var node in graph.Nodes)
        {
            foreach (var output in node.Outputs)
            {
                if (output.Name.Length == 0 || types.TypeOf(output) != DataType.Float || !listed.Add(output))
                {
                    continue;
                }

                // element type only: a stale declared shape must not make ONNX Runtime refuse the probe
                output.Type = TypeInfo.OfTensor(DataType.Float);
                graph.Outputs.Add(output);
                added.Add(output.Name);
            }
        }

        return added;
    }

    private static void Run(InferenceSession session, List<string> inputNames, Dictionary<string, Tensor> inputs, List<string> wanted, int perRun,
        Dictionary<string, double> ranges, CancellationToken cancellationToken)
    {
        var values = new List<OrtValue>();
        try
        {
            foreach (var name in inputNames)
            {
                values.Add(OptimizeCheck.ToOrtValue(inputs.TryGetValue(name, out var t) ? t : throw new ForgeInputException($"no data for model input '{name}'")));
            }

            using var runOptions = new RunOptions();
            for (var start = 0; start < wanted.Count; start += perRun)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var chunk = wanted.GetRange(start, Math.Min(perRun, wanted.Count - start));
                using var results = session.Run(runOptions, inputNames, values, chunk);
                for (var i = 0; i < chunk.Count; i++)
                {
                    var magnitude = LargestMagnitude(results[i].GetTensorDataAsSpan<float>());
                    ranges[chunk[i]] = Math.Max(ranges.GetValueOrDefault(chunk[i]), magnitude);
                }
            }
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    private static double LargestMagnitude(ReadOnlySpan<float> values)
    {
        var largest = 0f;
        foreach (var v in values)
        {
            var m = MathF.Abs(v);
            if (!float.IsFinite(m))
            {
                return double.PositiveInfinity;
            }

            largest = MathF.Max(largest, m);
        }

        return largest;
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
