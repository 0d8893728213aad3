using System.Diagnostics;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Fp16;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Pipelines.Spec;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>
/// optimize → (fp16): <see cref="Optimizer.Optimize"/> with the pipeline's rules and passes, the optimized
/// model written, then checked against the original in ONNX Runtime (gate <c>optimize-check</c>); with an
/// fp16 section, <see cref="PassRegistry.Fp16Stage"/> through the same <see cref="Optimizer.Optimize"/>, written and checked against the original model on
/// its test data (gate <c>fp16-check</c>, issue 6's 1e-2).
/// </summary>
internal static class OptimizeStage
{
    public static IEnumerable<string> Gates(OptimizeSpec spec) => !CpuCheckable(spec) ? []
        : [.. spec.Check ? ["optimize-check"] : Array.Empty<string>(), .. spec.Fp16 is null ? [] : new[] { "fp16-check" }];

    /// <summary>The checks run ONNX Runtime on CPU: an ort-cuda model holds CUDA-only contrib ops, its numeric gate is validate on cuda.</summary>
    private static bool CpuCheckable(OptimizeSpec spec) => spec.Target != TargetRuntime.OrtCuda;

    /// <summary>
    /// The float32 original's activation ranges for to-fp16 (the same road as <c>forge optimize --activation-ranges auto</c>):
    /// measured when the fp16-check gate runs ONNX Runtime anyway or the model folder has test data; null otherwise.
    /// </summary>
    private static IReadOnlyDictionary<string, double>? MeasuredRanges(RunContext ctx, OptimizeSpec spec, string original, CancellationToken ct)
    {
        if (!CpuCheckable(spec) && !Directory.EnumerateDirectories(Path.GetDirectoryName(Path.GetFullPath(original))!, "test_data_set_*").Any())
        {
            return null;
        }

        ctx.Progress(RunStage.Optimize, "to-fp16: measuring the float32 model's activation ranges in ONNX Runtime (CPU)");
        var measured = ActivationRanges.Measure(original, new ActivationRangeOptions(), ct);
        if (measured.NotMeasured is { } why)
        {
            ctx.Note(RunStage.Optimize, $"to-fp16: activation ranges not measured ({why})");
        }

        return measured.Ranges;
    }

    public static void Run(RunContext ctx, OptimizeSpec spec, CancellationToken ct)
    {
        const RunStage stage = RunStage.Optimize;
        var original = ctx.Pipeline.Spec.Model.FullPath;
        var optimized = ctx.ArtifactPath(spec.Output);
        var clock = Stopwatch.StartNew();
        ctx.Progress(stage, $"loading {original}");
        using var model = OnnxReader.Load(original);
        var plan = OutputPlan.Reading(model);
        plan.Model(optimized);
        if (spec.Check)
        {
            plan.Model(CheckedOutput.RejectedPath(optimized));
        }

        if (spec.Fp16 is { } planned)
        {
            plan.Model(ctx.ArtifactPath(planned.Output));
            plan.Model(CheckedOutput.RejectedPath(ctx.ArtifactPath(planned.Output)));
        }

        ctx.Progress(stage, "running passes");
        var report = Optimizer.Optimize(model, Options(spec), cancellationToken: ct) with { OutputPath = optimized };
        ct.ThrowIfCancellationRequested();
        ctx.Progress(stage, $"nodes {report.Before.Nodes} → {report.After.Nodes}; writing {optimized}");
        ctx.Details["optimize"] = report;
        foreach (var note in report.Notes)
        {
            ctx.Note(stage, note);
        }

        if (spec.Check && !CpuCheckable(spec))
        {
            ctx.Note(stage, "optimize-check skipped: target ort-cuda emits CUDA-only contrib ops; the validate stage on cuda is the numeric gate");
        }

        if (!spec.Check || !CpuCheckable(spec))
        {
            OnnxWriter.Save(model, optimized);
            ctx.CurrentModel = optimized;
        }
        else
        {
            // the optimized model reaches its artifact path only once the check passed
            ctx.Progress(stage, "check: original vs optimized in ONNX Runtime (CPU)");
            var saved = CheckedOutput.Save(model, original, optimized, null, new OptimizeCheckOptions
            {
                Fp32Tolerance = spec.CheckTolerance ?? new OptimizeCheckOptions().Fp32Tolerance,
                Fp16Tolerance = spec.CheckTolerance ?? new OptimizeCheckOptions().Fp16Tolerance,
            }, ctx.CheckRunner, ct);
            ctx.Details["optimizeCheck"] = saved.Check;
            var gate = CheckGate(ctx, "optimize-check", saved.Check, clock, $"nodes {report.Before.Nodes} → {report.After.Nodes}");
            if (gate.Status == GateStatus.Failed)
            {
                ctx.Note(stage, $"the rejected model is kept at {saved.Saved.ModelPath}");
                return;
            }

            ctx.CurrentModel = optimized;
        }

        if (spec.Fp16 is not { } fp16)
        {
            return;
        }

        clock.Restart();
        ctx.Progress(stage, $"to-fp16 ({Yaml.SpecBinder.EnumName(fp16.To)})");
        var options = new Fp16Options
        {
            Target = fp16.To == FloatTarget.Bf16 ? HalfType.Bf16 : HalfType.Fp16,
            KeepIoTypes = fp16.KeepIoTypes,
            OpBlockList = fp16.OpBlockList is { } ops ? Fp16Options.ParseOpList(string.Join(',', ops)) : Fp16Options.DefaultOpBlockList,
            NodeBlockList = new HashSet<string>(fp16.NodeBlockList, StringComparer.Ordinal),
            ClampOutOfRange = fp16.Clamp,
            ActivationRanges = MeasuredRanges(ctx, spec, original, ct),
        };

        // the same stage as forge optimize --fp16, inside the pass manager: to-fp16 and the cleanup after it
        var halved = Optimizer.Optimize(model, new OptimizeOptions { Passes = PassRegistry.Fp16Stage.Passes, Fp16 = options }, cancellationToken: ct);
        ct.ThrowIfCancellationRequested();
        var converted = halved.Passes.Single(p => p.Pass == "to-fp16");
        var fp16Path = ctx.ArtifactPath(fp16.Output);
        ctx.Details["fp16"] = new Fp16Details(converted.Modified, converted.Counters, converted.Notes, halved.After);
        foreach (var note in converted.Notes)
        {
            ctx.Note(stage, "to-fp16: " + note);
        }

        if (!CpuCheckable(spec))
        {
            OnnxWriter.Save(model, fp16Path);
            ctx.CurrentModel = fp16Path;
            return;
        }

        ctx.Progress(stage, "check: original vs fp16 in ONNX Runtime (CPU)");
        var fp16Saved = CheckedOutput.Save(model, original, fp16Path, null, new OptimizeCheckOptions { Fp32Tolerance = fp16.CheckTolerance, Fp16Tolerance = fp16.CheckTolerance }, ctx.CheckRunner, ct);
        var fp16Check = fp16Saved.Check;
        if (fp16Check.Passed)
        {
            ctx.CurrentModel = fp16Path;
        }
        else
        {
            ctx.Note(stage, $"the rejected fp16 model is kept at {fp16Saved.Saved.ModelPath}");
        }

        ctx.Details["fp16Check"] = fp16Check;
        var bytes = converted.Counters.TryGetValue("weight-bytes-after", out var after) && converted.Counters.TryGetValue("weight-bytes-before", out var before) && before > 0
            ? $"weights {Core.Reports.Format.Bytes(before)} → {Core.Reports.Format.Bytes(after)}"
            : "no float32 weights converted";
        CheckGate(ctx, "fp16-check", fp16Check, clock, bytes);
    }

    private static GateResult CheckGate(RunContext ctx, string name, OptimizeCheckResult check, Stopwatch clock, string context)
    {
        var worst = check.Outputs.OrderByDescending(o => o.NonFinite ? double.PositiveInfinity : o.RelativeL2 / o.Tolerance).FirstOrDefault();
        var figures = new Dictionary<string, string> { ["reference"] = check.Reference, ["inputs"] = check.Inputs };
        if (worst is not null)
        {
            figures["relL2"] = RunContext.Sci(worst.RelativeL2);
            figures["maxAbs"] = RunContext.Sci(worst.MaxAbsDiff);
            figures["tolerance"] = RunContext.Sci(worst.Tolerance);
        }

        var message = worst is null ? $"{context}; no output compared ({string.Join("; ", check.Notes)})"
            : worst.NonFinite ? $"{context}; NaN/Inf in '{worst.Output}' on {worst.DataSet}"
            : $"{context}; worst rel L2 {RunContext.Sci(worst.RelativeL2)} ('{worst.Output}' on {worst.DataSet}, tolerance {RunContext.Sci(worst.Tolerance)})";
        return ctx.Gate(name, RunStage.Optimize, check.Passed, ExitCode.OutOfTolerance, message, clock, figures);
    }

    private static OptimizeOptions Options(OptimizeSpec spec)
    {
        var options = new OptimizeOptions
        {
            Passes = spec.Passes?.Select(p => p.Name).ToList(),
            Rules = spec.Rules?.Select(r => r.Name).ToList(),
            InputShapes = spec.InputShapes?.ToDictionary(kv => kv.Key, kv => kv.Value.Dims.ToArray(), StringComparer.Ordinal),
            Target = spec.Target switch
            {
                TargetRuntime.TensorRt => OptimizeTarget.TensorRt,
                TargetRuntime.OrtCuda => OptimizeTarget.OrtCuda,
                _ => OptimizeTarget.Portable,
            },
        };
        foreach (var pass in spec.Passes ?? [])
        {
            foreach (var (key, value) in pass.Options)
            {
                _ = ByteSize.TryParse(value, out var size);
                options = (pass.Name, key) switch
                {
                    ("fold-constants", "max-output") => options with { FoldOutputLimitBytes = size!.Bytes },
                    ("fold-constants", "max-growth") => options with { MaxWeightGrowthBytes = size!.Bytes },
                    ("fold-constants", "max-fold-bytes") => options with { MaxFoldBytes = size!.Bytes },
                    _ => options,
                };
            }
        }

        return options;
    }
}
