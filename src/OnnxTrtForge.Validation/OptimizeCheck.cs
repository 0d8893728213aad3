using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = OnnxTrtForge.Core.Ir.Tensor;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Rewrites;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Validation;

/// <summary>Tolerances and inputs of <c>forge optimize --check</c>.</summary>
public sealed record OptimizeCheckOptions
{
    /// <summary>Relative L2 bound for fp32 (and fp64) outputs.</summary>
    public double Fp32Tolerance { get; init; } = 1e-5;

    /// <summary>Relative L2 bound for fp16 and bf16 outputs.</summary>
    public double Fp16Tolerance { get; init; } = 2e-3;

    /// <summary>Seed of the random inputs used when the model folder has no test_data_set_*.</summary>
    public int Seed { get; init; }

    /// <summary>At most this many test_data_set_* folders are run.</summary>
    public int MaxDataSets { get; init; } = 3;

    /// <summary>Where both models run (<c>--device</c>); an op the device has no kernel for in the optimized model is bad input (exit 2).</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>The CUDA device (<c>--device-id</c>).</summary>
    public int DeviceId { get; init; }

    /// <summary>ONNX Runtime's intra-op threads per session; 0 lets it choose (callers running checks side by side pass 1).</summary>
    public int Threads { get; init; }
}

/// <summary>One output of one input set compared with the reference.</summary>
public sealed record OutputCheck(string DataSet, string Output, string ElementType, double RelativeL2, double MaxAbsDiff, bool NonFinite, double Tolerance, bool Passed)
{
    /// <summary>How many values are NaN or infinite in the reference's output and in the checked one, of how many.</summary>
    public (long Reference, long Checked, long Total) NonFiniteCounts { get; init; }
}

/// <summary>The outcome of <c>--check</c>: what the optimized model was compared with, and each output's figures.</summary>
public sealed record OptimizeCheckResult(string Reference, string Inputs, IReadOnlyList<OutputCheck> Outputs, IReadOnlyList<string> Notes)
{
    /// <summary>The runtime both models ran in.</summary>
    public string Runtime { get; init; } = new RuntimeOptions().Describe();

    public bool Passed => Outputs.Count > 0 && Outputs.All(o => o.Passed);
}

/// <summary>
/// Runs an original model and its optimized version in ONNX Runtime (CPU with graph optimizations off, or CUDA) on
/// the model folder's <c>test_data_set_*</c> inputs, or on seeded random inputs (symbolic dims → 1),
/// and compares outputs: the same names, shapes and element kinds, then relative L2 (fp32 1e-5, fp16
/// 2e-3). A non-finite value is a failure where the original's is finite (or of another kind); NaN
/// where the original has NaN is agreement. The original runs first: when it does not load (an ATen
/// fallback node) the reference is the stored expected outputs, or else the original with only the
/// rewrite rules applied; when neither loads, or the original fails on the inputs, the input is at
/// fault (exit 2 with ONNX Runtime's reason). The optimized model failing to load or run is the passes'
/// fault (exit 3). <paramref name="phases"/> hears each step before ONNX Runtime takes it, so that a process
/// that dies inside ONNX Runtime can be blamed on the right model (<see cref="ChildProcessCheckRunner"/>).
/// </summary>
public static class OptimizeCheck
{
    public static OptimizeCheckResult Run(string originalPath, string optimizedPath, OptimizeCheckOptions? options = null, IProgress<CheckPhase>? phases = null, CancellationToken cancellationToken = default)
    {
        options ??= new OptimizeCheckOptions();
        var notes = new List<string>();
        // CPU: graph optimizations off, so the check sees the graph forge wrote. CUDA: ONNX Runtime 1.31's CUDA
        // provider assigns com.microsoft NhwcConv only when graph optimizations run (with them off the node is
        // left without a provider and the session fails: seen on an H200), so the check runs the models as
        // `forge bench` and the denoising loop do.
        var runtime = new RuntimeOptions { Optimize = options.Device == ExecutionDevice.Cuda, Device = options.Device, DeviceId = options.DeviceId, Threads = options.Threads };
        string reference;
        phases?.Report(CheckPhase.LoadingOriginal);
        var referenceSession = Open(originalPath, runtime, out var originalError, missingKernelIsBadInput: true);
        string? tempDir = null;
        try
        {
            List<DataSet> sets;
            if (referenceSession is not null)
            {
                reference = "original model";
                sets = LoadDataSets(Path.GetDirectoryName(Path.GetFullPath(originalPath))!, referenceSession.InputNames, referenceSession.OutputNames, options.MaxDataSets);
            }
            else
            {
                using (var original = OnnxReader.Load(originalPath))
                {
                    var graph = original.Graph;
                    sets = LoadDataSets(Path.GetDirectoryName(Path.GetFullPath(originalPath))!,
                        graph.Inputs.Where(v => v.Initializer is null).Select(v => v.Name).ToList(), graph.Outputs.Select(v => v.Name).ToList(), options.MaxDataSets);
                }

                if (sets.Count > 0 && sets.All(s => s.Expected is not null))
                {
                    notes.Add($"the original model does not load in ONNX Runtime ({originalError}); compared with the stored outputs");
                    reference = "stored outputs";
                }
                else
                {
                    notes.Add($"the original model does not load in ONNX Runtime ({originalError}); compared with it after the rewrite rules only");
                    tempDir = Directory.CreateTempSubdirectory("forge-check-").FullName;
                    var rewrittenPath = Path.Combine(tempDir, "rewritten.onnx");
                    using (var original = OnnxReader.Load(originalPath))
                    {
                        new RewriteRulesPass(RewriteRuleRegistry.All()).Run(original);
                        OnnxWriter.Save(original, rewrittenPath);
                    }

                    phases?.Report(CheckPhase.LoadingRewrittenOriginal);
                    referenceSession = Open(rewrittenPath, runtime, out var rewrittenError)
                        ?? throw new ForgeInputException($"{originalPath}: ONNX Runtime cannot run the original model, so it cannot be checked: {originalError} (after the rewrite rules: {rewrittenError})");
                    reference = "original after rewrite rules";
                }
            }

            phases?.Report(tempDir is null ? CheckPhase.RunningReference : CheckPhase.RunningRewrittenOriginal);
            var inputsDescription = sets.Count > 0 ? string.Join(", ", sets.Select(s => s.Name)) : $"random inputs (seed {options.Seed})";
            if (sets.Count == 0)
            {
                sets.Add(new DataSet($"random-seed-{options.Seed}", RandomInputs(referenceSession!, options.Seed), null));
            }

            // the reference runs first: an original that fails on these inputs is the input's fault, not the passes'
            var expectedBySet = new List<Dictionary<string, Output>>();
            foreach (var set in sets)
            {
                cancellationToken.ThrowIfCancellationRequested();
                expectedBySet.Add(referenceSession is not null
                    ? Run(referenceSession, set, $"{originalPath}: ONNX Runtime cannot run the {reference} on {set.Name}", input: true)
                    : set.Expected!);
            }

            phases?.Report(CheckPhase.LoadingOptimized);
            using var optimized = Open(optimizedPath, runtime, out var loadError, missingKernelIsBadInput: true) ?? throw new PassFailedException($"{optimizedPath}: ONNX Runtime cannot load the optimized model: {loadError}");
            phases?.Report(CheckPhase.RunningOptimized);
            var checks = new List<OutputCheck>();
            for (var i = 0; i < sets.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var set = sets[i];
                var actual = Run(optimized, set, $"{optimizedPath}: ONNX Runtime cannot run the optimized model on {set.Name}", input: false);
                foreach (var (name, want) in expectedBySet[i])
                {
                    if (!actual.TryGetValue(name, out var got))
                    {
                        notes.Add($"{set.Name}: output '{name}' of the original is missing from the optimized model");
                        checks.Add(new OutputCheck(set.Name, name, want.Type.OnnxName(), double.PositiveInfinity, double.PositiveInfinity, false, 0, false));
                        continue;
                    }

                    var check = Compare(set.Name, name, got, want, options);
                    if (!got.Shape.SequenceEqual(want.Shape))
                    {
                        notes.Add($"{set.Name}: output '{name}' has shape [{string.Join(',', got.Shape)}], the original [{string.Join(',', want.Shape)}]");
                    }
                    else if (!SameKind(got.Type, want.Type))
                    {
                        notes.Add($"{set.Name}: output '{name}' is {got.Type.OnnxName()}, the original {want.Type.OnnxName()}");
                    }

                    checks.Add(check);
                }

                foreach (var name in actual.Keys.Where(n => !expectedBySet[i].ContainsKey(n)))
                {
                    notes.Add($"{set.Name}: output '{name}' has no reference");
                }
            }

            return new OptimizeCheckResult(reference, inputsDescription, checks, notes) { Runtime = runtime.Describe() };
        }
        finally
        {
            referenceSession?.Dispose();
            if (tempDir is not null)
            {
                Directory.Delete(tempDir, recursive: true);
            }
        }
    }

    /// <summary>Runs one input set; ONNX Runtime's refusal is the input's fault (exit 2) for the reference, the passes' (exit 3) for the optimized model.</summary>
    private static Dictionary<string, Output> Run(InferenceSession session, DataSet set, string what, bool input)
    {
        try
        {
            return Execute(session, set.Inputs);
        }
        catch (OnnxRuntimeException e)
        {
            var message = $"{what}: {OrtSessions.FirstLine(e.Message)}";
            throw input ? new ForgeInputException(message, e) : new PassFailedException(message, e);
        }
    }

    /// <summary>Float types may differ (to-fp16 without keep-io-types); anything else must be the same type.</summary>
    private static bool SameKind(DataType a, DataType b) => a == b || (a.IsFloatingPoint() && b.IsFloatingPoint());

    /// <summary>A session, or null with ONNX Runtime's reason; a kernel the device lacks in the optimized model stays an exception (exit 2 naming the op).</summary>
    private static InferenceSession? Open(string path, RuntimeOptions runtime, out string error, bool missingKernelIsBadInput = false)
    {
        error = "";
        try
        {
            return OrtSessions.Create(path, runtime);
        }
        catch (ForgeInputException e) when (e.InnerException is OnnxRuntimeException ort && !(missingKernelIsBadInput && MissingKernel.TryParse(ort.Message) is not null))
        {
            error = OrtSessions.FirstLine(ort.Message);
            return null;
        }
    }

    /// <summary>One output tensor: element type, shape and values as doubles.</summary>
    public sealed record Output(DataType Type, long[] Shape, double[] Values);

    internal sealed record DataSet(string Name, Dictionary<string, Tensor> Inputs, Dictionary<string, Output>? Expected);

    internal static List<DataSet> LoadDataSets(string folder, IReadOnlyList<string> inputNames, IReadOnlyList<string> outputNames, int max)
    {
        var sets = new List<DataSet>();
        foreach (var dir in Directory.EnumerateDirectories(folder, "test_data_set_*").Order(StringComparer.Ordinal).Take(max))
        {
            var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            for (var i = 0; i < inputNames.Count; i++)
            {
                var file = Path.Combine(dir, $"input_{i}.pb");
                if (!File.Exists(file))
                {
                    throw new ForgeInputException($"{dir}: input_{i}.pb missing (the model has {inputNames.Count} inputs)");
                }

                inputs[inputNames[i]] = OnnxReader.LoadTensor(file);
            }

            Dictionary<string, Output>? expected = new(StringComparer.Ordinal);
            for (var i = 0; i < outputNames.Count; i++)
            {
                var file = Path.Combine(dir, $"output_{i}.pb");
                if (!File.Exists(file))
                {
                    expected = null;
                    break;
                }

                var t = OnnxReader.LoadTensor(file);
                expected[outputNames[i]] = new Output(t.Type, t.Dims, ToDoubles(t));
            }

            sets.Add(new DataSet(Path.GetFileName(dir), inputs, expected));
        }

        return sets;
    }

    /// <summary>Seeded inputs from the declared types: floats uniform in [-1, 1], integers in [0, 10), symbolic dims 1.</summary>
    public static Dictionary<string, Tensor> RandomInputs(InferenceSession session, int seed)
    {
        var random = new Random(seed);
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in session.InputNames)
        {
            var meta = session.InputMetadata[name];
            var dims = meta.Dimensions.Select(d => d < 0 ? 1L : d).ToArray();
            var type = ToDataType(meta.ElementDataType);
            var n = (int)dims.Aggregate(1L, (a, b) => a * b);
            var values = new double[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = type.IsFloatingPoint() ? (random.NextDouble() * 2) - 1 : type == DataType.Bool ? random.Next(2) : random.Next(10);
            }

            inputs[name] = FromDoubles(type, dims, values);
        }

        return inputs;
    }

    /// <summary>
    /// Runs a session once: each input given in the element type the session declares (floating data converted between
    /// float32, fp16 and float64), every output as doubles. Throws ONNX Runtime's exception when it refuses.
    /// </summary>
    public static Dictionary<string, Output> Execute(InferenceSession session, Dictionary<string, Tensor> inputs)
    {
        var names = session.InputNames.ToList();
        var values = new List<OrtValue>();
        try
        {
            foreach (var name in names)
            {
                if (!inputs.TryGetValue(name, out var t))
                {
                    throw new ForgeInputException($"no data for model input '{name}'");
                }

                // a model converted with to-fp16 --keep-io-types false takes fp16 where the data is float32
                var wanted = ToDataType(session.InputMetadata[name].ElementDataType);
                if (wanted != t.Type && wanted is DataType.Float or DataType.Float16 or DataType.Double && t.Type.IsFloatingPoint())
                {
                    t = FromDoubles(wanted, t.Dims, ToDoubles(t));
                }

                values.Add(ToOrtValue(t));
            }

            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, names, values, session.OutputNames);
            var outputs = new Dictionary<string, Output>(StringComparer.Ordinal);
            for (var i = 0; i < session.OutputNames.Count; i++)
            {
                outputs[session.OutputNames[i]] = FromOrtValue(results[i]);
            }

            return outputs;
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    public static OutputCheck Compare(string set, string name, Output got, Output want, OptimizeCheckOptions options)
    {
        var tolerance = got.Type switch
        {
            DataType.Float16 or DataType.BFloat16 => options.Fp16Tolerance,
            DataType.Float or DataType.Double => options.Fp32Tolerance,
            _ => 0,
        };
        if (got.Values.Length != want.Values.Length || !got.Shape.SequenceEqual(want.Shape) || !SameKind(got.Type, want.Type))
        {
            return new OutputCheck(set, name, got.Type.OnnxName(), double.PositiveInfinity, double.PositiveInfinity, false, tolerance, false);
        }

        // non-finite values must match the original's exactly (NaN for NaN, the same infinity); the rest is compared by rel L2
        var nonFinite = false;
        long wantNonFinite = 0, gotNonFinite = 0;
        var wantFinite = new List<double>(want.Values.Length);
        var gotFinite = new List<double>(got.Values.Length);
        for (var i = 0; i < got.Values.Length; i++)
        {
            double g = got.Values[i], w = want.Values[i];
            wantNonFinite += double.IsFinite(w) ? 0 : 1;
            gotNonFinite += double.IsFinite(g) ? 0 : 1;
            if (double.IsFinite(w) && double.IsFinite(g))
            {
                wantFinite.Add(w);
                gotFinite.Add(g);
            }
            else if (!(double.IsNaN(w) && double.IsNaN(g)) && !(double.IsInfinity(w) && g.Equals(w)))
            {
                nonFinite = true;
            }
        }

        var metrics = TensorComparison.Compare(wantFinite.ToArray(), gotFinite.ToArray());
        var rel = wantFinite.Count == 0 ? 0 : metrics.RelativeL2;
        var maxAbs = wantFinite.Count == 0 ? 0 : metrics.MaxAbsError;
        return new OutputCheck(set, name, got.Type.OnnxName(), rel, maxAbs, nonFinite, tolerance, !nonFinite && rel <= tolerance)
        {
            NonFiniteCounts = (wantNonFinite, gotNonFinite, want.Values.Length),
        };
    }

    internal static OrtValue ToOrtValue(Tensor t)
    {
        var span = t.Data.Span;
        return t.Type switch
        {
            DataType.Float => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, float>(span).ToArray(), t.Dims),
            DataType.Float16 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, Float16>(span).ToArray(), t.Dims),
            DataType.Double => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, double>(span).ToArray(), t.Dims),
            DataType.Int64 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, long>(span).ToArray(), t.Dims),
            DataType.Int32 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, int>(span).ToArray(), t.Dims),
            DataType.Bool => OrtValue.CreateTensorValueFromMemory(span.ToArray().Select(b => b != 0).ToArray(), t.Dims),
            DataType.UInt8 => OrtValue.CreateTensorValueFromMemory(span.ToArray(), t.Dims),
            _ => throw new ForgeInputException($"input '{t.Name}': element type {t.Type.OnnxName()} is not supported by the check"),
        };
    }

    private static Output FromOrtValue(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        var type = ToDataType(info.ElementDataType);
        double[] values = type switch
        {
            DataType.Float => value.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v).ToArray(),
            DataType.Float16 => value.GetTensorDataAsSpan<Float16>().ToArray().Select(v => (double)(float)v).ToArray(),
            DataType.Double => value.GetTensorDataAsSpan<double>().ToArray(),
            DataType.Int64 => value.GetTensorDataAsSpan<long>().ToArray().Select(v => (double)v).ToArray(),
            DataType.Int32 => value.GetTensorDataAsSpan<int>().ToArray().Select(v => (double)v).ToArray(),
            DataType.Bool => value.GetTensorDataAsSpan<bool>().ToArray().Select(v => v ? 1.0 : 0.0).ToArray(),
            DataType.UInt8 => value.GetTensorDataAsSpan<byte>().ToArray().Select(v => (double)v).ToArray(),
            _ => throw new PassFailedException($"output element type {type.OnnxName()} is not supported by the check"),
        };
        return new Output(type, shape, values);
    }

    private static double[] ToDoubles(Tensor t) => t.Type.IsFloatingPoint() ? t.ToDoubleArray() : t.ToInt64Array().Select(v => (double)v).ToArray();

    private static Tensor FromDoubles(DataType type, long[] dims, double[] values) => type switch
    {
        DataType.Float => Tensor.FromFloats(dims, values.Select(v => (float)v).ToArray()),
        DataType.Float16 => Tensor.FromArray(DataType.Float16, dims, values.Select(v => (Half)v).ToArray()),
        DataType.Double => Tensor.FromArray(DataType.Double, dims, values),
        DataType.Int64 => Tensor.FromInt64s(dims, values.Select(v => (long)v).ToArray()),
        DataType.Int32 => Tensor.FromArray(DataType.Int32, dims, values.Select(v => (int)v).ToArray()),
        DataType.Bool or DataType.UInt8 => Tensor.FromArray(type, dims, values.Select(v => (byte)v).ToArray()),
        _ => throw new ForgeInputException($"model input of element type {type.OnnxName()} is not supported by the check"),
    };

    private static DataType ToDataType(TensorElementType t) => t switch
    {
        TensorElementType.Float => DataType.Float,
        TensorElementType.Float16 => DataType.Float16,
        TensorElementType.BFloat16 => DataType.BFloat16,
        TensorElementType.Double => DataType.Double,
        TensorElementType.Int64 => DataType.Int64,
        TensorElementType.Int32 => DataType.Int32,
        TensorElementType.Bool => DataType.Bool,
        TensorElementType.UInt8 => DataType.UInt8,
        TensorElementType.Int8 => DataType.Int8,
        _ => DataType.Undefined,
    };
}
