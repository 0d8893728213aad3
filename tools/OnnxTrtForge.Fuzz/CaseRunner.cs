using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Rewrites;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Core.Serialization.Proto;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Fuzz;

/// <summary>One fixture: its model bytes and the inputs of its <c>test_data_set_0</c> (empty when it has none).</summary>
internal sealed record Fixture(string Name, byte[] Model, IReadOnlyList<byte[]> TestInputs)
{
    public static IReadOnlyList<Fixture> LoadAll(string folder)
    {
        var models = Directory.EnumerateFiles(folder, "model.onnx", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        if (models.Count == 0)
        {
            throw new ArgumentException($"no model.onnx under {folder}");
        }

        return models.Select(path =>
        {
            var data = Path.Combine(Path.GetDirectoryName(path)!, "test_data_set_0");
            var inputs = new List<byte[]>();
            for (var i = 0; File.Exists(Path.Combine(data, $"input_{i}.pb")); i++)
            {
                inputs.Add(File.ReadAllBytes(Path.Combine(data, $"input_{i}.pb")));
            }

            return new Fixture(Path.GetFileName(Path.GetDirectoryName(path))!, File.ReadAllBytes(path), inputs);
        }).ToList();
    }
}

/// <summary>What one case came to; <see cref="Verdicts.IsFinding"/> says which verdicts fail the run.</summary>
internal sealed record CaseResult(int Case, string Verdict, int Exit, string Detail)
{
    /// <summary>Milliseconds in forge's road and in ONNX Runtime's comparison (0 when not measured: a worker that died).</summary>
    public (double Forge, double Ort) Milliseconds { get; init; }
}

/// <summary>The case's mutation, chosen before forge runs (so a crash or a hang can still name it).</summary>
internal sealed record CaseInput(int Case, string Fixture, string Mutation, string Folder);

/// <summary>
/// One fuzz case, in process: a seeded mutation of a fixture, forge's optimize road on it (the library calls
/// <c>forge optimize MODEL -o OUT</c> makes, with its exception-to-exit-code mapping), then, on exit 0, the
/// original and the output run side by side in ONNX Runtime by <see cref="OptimizeCheck"/> (the code and the
/// tolerances of <c>forge optimize --check</c>).
/// </summary>
internal sealed class CaseRunner(IReadOnlyList<Fixture> fixtures, int seed, string workFolder)
{
    /// <summary>Inputs beyond this many elements (symbolic dims taken as 1) are not run: the verdict is <c>unchecked</c>.</summary>
    private const long MaxInputElements = 1L << 24;

    /// <summary>The mutation of case <paramref name="index"/>, written to its own folder (with the fixture's test inputs when they still fit).</summary>
    public CaseInput Prepare(int index)
    {
        // a seed of its own per case, the same in every process and on every machine (HashCode.Combine is not)
        var random = new Random(unchecked((seed * 1_000_003) + index));
        var fixture = fixtures[random.Next(fixtures.Count)];
        var (bytes, description) = Mutator.Mutate(fixture.Model, random);
        var folder = Path.Combine(workFolder, index.ToString("D6", CultureInfo.InvariantCulture));
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), bytes);
        if (fixture.TestInputs.Count > 0 && InputsFit(bytes, fixture.TestInputs))
        {
            var data = Directory.CreateDirectory(Path.Combine(folder, "test_data_set_0")).FullName;
            for (var i = 0; i < fixture.TestInputs.Count; i++)
            {
                File.WriteAllBytes(Path.Combine(data, $"input_{i}.pb"), fixture.TestInputs[i]);
            }
        }

        return new CaseInput(index, fixture.Name, description, folder);
    }

    /// <summary>
    /// Forge's optimize road on the case; the exit code forge would end with (0, 1 unexpected, 2 bad input, 3 pass
    /// failed), its one-line message, and whether it is a crash: exit 1, or an exit 3 that wraps a .NET exception
    /// thrown inside a pass (the pass manager's "pass failed" around an IndexOutOfRange is a crash all the same).
    /// </summary>
    public static (int Exit, string Message, bool Crashed) Optimize(CaseInput input)
    {
        var model = Path.Combine(input.Folder, "model.onnx");
        var output = Path.Combine(input.Folder, "out.onnx");
        try
        {
            using var loaded = OnnxReader.Load(model);
            var plan = OutputPlan.Reading(loaded);
            plan.Model(output, ExternalDataMode.Auto);
            Optimizer.Optimize(loaded, new OptimizeOptions());
            OnnxWriter.Save(loaded, output, new SaveOptions());
            return (0, "", false);
        }
        catch (ForgeException e) when (e is PassFailedException && Unexpected(e) is { } inner)
        {
            return (e.ExitCode, $"{e.Label}: {e.Message} ({inner.GetType().Name} at {inner.StackTrace?.Split('\n').FirstOrDefault()?.Trim()})", true);
        }
        catch (ForgeException e)
        {
            return (e.ExitCode, $"{e.Label}: {e.Message}", false);
        }
#pragma warning disable CA1031 // anything but a ForgeException is forge's "unexpected error" (exit 1): exactly what the fuzzer looks for
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (1, $"unexpected error: {e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}", true);
        }
    }

    /// <summary>The first exception in the chain that is not forge's own (an ONNX Runtime refusal is not one).</summary>
    private static Exception? Unexpected(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is not ForgeException and not OnnxRuntimeException)
            {
                return inner;
            }
        }

        return null;
    }

    /// <summary>The case's input after forge's rewrite rules only, written beside it: the reference <c>--check</c> falls back to when ONNX Runtime refuses the input.</summary>
    private static string RewrittenReference(CaseInput input)
    {
        var rewritten = Path.Combine(input.Folder, "reference.onnx");
        using var original = OnnxReader.Load(Path.Combine(input.Folder, "model.onnx"));
        new RewriteRulesPass(RewriteRuleRegistry.All()).Run(original);
        OnnxWriter.Save(original, rewritten, new SaveOptions());
        return rewritten;
    }

    /// <summary>
    /// The verdict of an exit-0 case: both models in ONNX Runtime (CPU, one thread, optimizations off) on the same inputs.
    /// <paramref name="phases"/> is told each step of the check as it starts (<see cref="CheckPhase.IsOriginal"/>: the
    /// input's), so that a worker that dies in ONNX Runtime is known to have died on the input or on forge's output.
    /// </summary>
    public static CaseResult Compare(CaseInput input, IProgress<CheckPhase>? phases = null)
    {
        var model = Path.Combine(input.Folder, "model.onnx");
        var output = Path.Combine(input.Folder, "out.onnx");
        if (TooLargeToRun(model) is { } large)
        {
            return new CaseResult(input.Case, Verdicts.Unchecked, 0, large);
        }

        var options = new OptimizeCheckOptions { Seed = input.Case, Threads = 1, MaxDataSets = 1 };
        try
        {
            var check = OptimizeCheck.Run(model, output, options, phases);
            if (check.Passed)
            {
                return new CaseResult(input.Case, Verdicts.Ok, 0, check.Reference);
            }

            var failed = check.Outputs.FirstOrDefault(o => !o.Passed);
            var what = failed is null ? "no output compared"
                : failed.NonFinite ? $"output '{failed.Output}' non-finite values differ from the reference's ({failed.NonFiniteCounts.Reference} non-finite there, {failed.NonFiniteCounts.Checked} here; finite values rel L2 {failed.RelativeL2:0.###e+0})"
                : $"output '{failed.Output}' rel L2 {failed.RelativeL2:0.###e+0} > {failed.Tolerance:0.#e+0}";
            var detail = $"vs {check.Reference} on {check.Inputs}: {what}{(check.Notes.Count > 0 ? "; " + string.Join("; ", check.Notes) : "")}";
            if (failed is not null && check.Outputs.Where(o => !o.Passed).All(o => o.ElementType is "float16" or "bfloat16"))
            {
                // fp16 evaluations of one graph in two orders: judged against the graph's float32 evaluation (Float32Judge)
                var judged = JudgeAgainstFloat32(input, check.Reference, failed.Tolerance);
                if (judged is { Count: > 0 } && judged.All(j => j.Mismatch is null))
                {
                    return new CaseResult(input.Case, Verdicts.Fp16Reordered, 0, $"{detail}; {string.Join("; ", judged)}");
                }

                if (judged?.FirstOrDefault(j => j.Mismatch is not null) is { } worse)
                {
                    detail += $"; {worse}: {worse.Mismatch}";
                }
            }

            return new CaseResult(input.Case, Verdicts.WrongOutput, 0, detail);
        }
        catch (PassFailedException e)
        {
            // the reference ran; forge's output did not load or run
            return new CaseResult(input.Case, Verdicts.BadOutput, 0, e.Message);
        }
        catch (ForgeInputException e)
        {
            // the reference cannot run (the input is refused, or fails on these inputs): forge's output must be refused too
            return RunsAlone(output, input.Case) is { } error
                ? new CaseResult(input.Case, Verdicts.BothRefused, 0, $"input: {e.Message}; output: {error}")
                : new CaseResult(input.Case, Verdicts.Repaired, 0, $"input: {e.Message}");
        }
#pragma warning disable CA1031 // the harness's own limits (an input it cannot build) end the case as unchecked, not the run
        catch (Exception e) when (e is OnnxRuntimeException or OverflowException or OutOfMemoryException or ArgumentException or InvalidOperationException)
#pragma warning restore CA1031
        {
            return new CaseResult(input.Case, Verdicts.Unchecked, 0, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>
    /// <see cref="Float32Judge"/> on the case: the reference the check used (the input, or the input after forge's rewrite
    /// rules when ONNX Runtime refuses it) against forge's output; null when the judge cannot run the models.
    /// </summary>
    private static IReadOnlyList<Float32Judgement>? JudgeAgainstFloat32(CaseInput input, string reference, double tolerance)
    {
        var model = Path.Combine(input.Folder, "model.onnx");
        var output = Path.Combine(input.Folder, "out.onnx");
        try
        {
            if (reference.StartsWith("original after rewrite rules", StringComparison.Ordinal))
            {
                model = RewrittenReference(input);
            }

            return Float32Judge.Judge(model, output, input.Folder, input.Case, tolerance);
        }
#pragma warning disable CA1031 // a model the judge cannot widen or run leaves the case wrong-output: the judge only ever clears a case
        catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or InvalidProtocolBufferException or ForgeException)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>Null when the model loads and runs on seeded inputs, else ONNX Runtime's reason.</summary>
    private static string? RunsAlone(string path, int seed)
    {
        try
        {
            // a load first: a model that does not load is answered without OptimizeCheck's rewrite-rules fallback
            using (OrtSessions.Create(path, new RuntimeOptions { Optimize = false, Threads = 1 }))
            {
            }

            // then the model checked against itself: runs twice on the same seeded inputs
            var self = OptimizeCheck.Run(path, path, new OptimizeCheckOptions { Seed = seed, Threads = 1, MaxDataSets = 1 });
            return self.Outputs.Count > 0 ? null : "no outputs";
        }
#pragma warning disable CA1031 // any failure to run is the answer asked for
        catch (Exception e)
#pragma warning restore CA1031
        {
            return e.Message.Split('\n')[0];
        }
    }

    /// <summary>A reason when the declared graph inputs would take more than <see cref="MaxInputElements"/> elements (or do not parse).</summary>
    private static string? TooLargeToRun(string modelPath)
    {
        try
        {
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
            var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var input in model.Graph.Input.Where(i => !initializers.Contains(i.Name)))
            {
                var elements = 1.0;
                foreach (var dim in input.Type?.TensorType?.Shape?.Dim ?? [])
                {
                    elements *= dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? Math.Max(dim.DimValue, 0) : 1;
                }

                if (elements > MaxInputElements)
                {
                    return $"input '{input.Name}' would take {elements:0.#e+0} elements";
                }
            }

            return null;
        }
        catch (InvalidProtocolBufferException e)
        {
            return $"the mutated model does not parse here: {e.Message}";
        }
    }

    /// <summary>The fixture's test inputs fit the mutated model: one per graph input, same element type, same static dims.</summary>
    private static bool InputsFit(byte[] modelBytes, IReadOnlyList<byte[]> inputs)
    {
        try
        {
            var graph = ModelProto.Parser.ParseFrom(modelBytes).Graph;
            var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            var declared = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
            if (declared.Count != inputs.Count)
            {
                return false;
            }

            for (var i = 0; i < declared.Count; i++)
            {
                var tensor = TensorProto.Parser.ParseFrom(inputs[i]);
                var type = declared[i].Type?.TensorType;
                if (type is null || type.ElemType != tensor.DataType || type.Shape is not { } shape || shape.Dim.Count != tensor.Dims.Count)
                {
                    return false;
                }

                for (var d = 0; d < shape.Dim.Count; d++)
                {
                    if (shape.Dim[d].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && shape.Dim[d].DimValue != tensor.Dims[d])
                    {
                        return false;
                    }
                }
            }

            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }
}
