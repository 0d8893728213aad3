using System.Diagnostics;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Pipelines.Spec;
using OnnxTrtForge.Validation;
using OnnxTrtForge.Validation.Schedulers;
using SchedulerKind = OnnxTrtForge.Validation.Schedulers.SchedulerKind;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>
/// validate: <see cref="LoopValidation"/> runs the reference and the candidate (the engine, through trtexec,
/// or the optimized/fp16 model) in the same seeded denoising loop, every step compared; gate
/// <c>validation</c>, exit 5 beyond tolerance. Limits the library does not gate itself (max-abs,
/// min-cosine, min-psnr) are checked here on the figures it reports.
/// </summary>
internal static class ValidateStage
{
    public static async Task RunAsync(RunContext ctx, ValidateSpec spec, CancellationToken ct)
    {
        const RunStage stage = RunStage.Validate;
        var clock = Stopwatch.StartNew();
        var kind = spec.Candidate ?? (ctx.Pipeline.Spec.Build is null ? CandidateKind.Optimized : CandidateKind.Engine);
        var candidate = kind == CandidateKind.Engine
            ? ctx.Engine ?? throw new ForgeInputException($"validate: no engine to compare (run the build stage; {ctx.ArtifactPath(ctx.Pipeline.Spec.Build!.Engine)} does not exist)")
            : ctx.CurrentModel;
        var reference = spec.Reference?.FullPath ?? ctx.Pipeline.Spec.Model.FullPath;
        var schedulerKind = Enum.Parse<SchedulerKind>(spec.Scheduler.ToString());
        var defaults = new ValidationTolerance();
        var request = new ValidationRequest
        {
            ReferencePath = reference,
            CandidatePath = candidate,
            Spec = new DenoiseSpec
            {
                Scheduler = new SchedulerOptions
                {
                    Kind = schedulerKind,
                    Semantics = spec.Semantics switch
                    {
                        LoopSemantics.V024 => SchedulerSemantics.V024,
                        LoopSemantics.Current => SchedulerSemantics.Current,
                        _ => SchedulerFactory.DefaultSemantics(schedulerKind),
                    },
                    UseKarrasSigmas = spec.Karras,
                    TimestepSpacing = spec.TimestepSpacing is { } spacing ? Enum.Parse<TimestepSpacing>(spacing.ToString()) : null,
                    StepsOffset = spec.StepsOffset,
                    Eta = spec.Eta,
                    Seed = (ulong)spec.Seed,
                },
                Steps = spec.Steps,
                GuidanceScale = spec.Guidance,
                Latents = Denoiser.LoadOptional(spec.Latents?.FullPath),
                Embeddings = Denoiser.LoadOptional(spec.Embeddings?.FullPath),
                Seed = (ulong)spec.Seed,
            },
            Runtime = new RuntimeOptions
            {
                Device = spec.Device == ComputeDevice.Cuda ? ExecutionDevice.Cuda : ExecutionDevice.Cpu,
                DeviceId = spec.DeviceId,
                Threads = spec.Threads,
                AllowTf32 = spec.Tf32,
            },
            Tolerance = new ValidationTolerance
            {
                NoiseRelativeL2 = spec.Tolerance.NoiseRelL2 ?? defaults.NoiseRelativeL2,
                LatentRelativeL2 = spec.Tolerance.LatentsRelL2 ?? defaults.LatentRelativeL2,
            },
            DecoderPath = spec.Decoder?.FullPath,
            ImagePath = spec.Decoder is null ? null : ctx.ArtifactPath(spec.Image),
            TrtexecPath = ctx.Trtexec,
        };
        ctx.Progress(stage, $"reference {Path.GetFileName(reference)} vs candidate {Path.GetFileName(candidate)}: {spec.Steps} steps", 0);
        ValidationResult result;
        if (kind == CandidateKind.Engine)
        {
            // An engine's inputs are those of the ONNX it was built from (fp16 I/O after a to-fp16 without
            // keep-io-types, or an fp16 export), not the reference's: the pipeline knows that model.
            var signature = UnetSignature.FromModelFile(reference);
            using var referencePredictor = new OnnxNoisePredictor(reference, signature, request.Runtime);
            using var enginePredictor = await TrtexecNoisePredictor.CreateAsync(candidate, UnetSignature.FromModelFile(ctx.EngineSource ?? ctx.CurrentModel), ctx.Trtexec, ct);
            result = await LoopValidation.CompareAsync(referencePredictor, enginePredictor, request, new Steps(ctx), ct);
        }
        else
        {
            result = await LoopValidation.RunAsync(request, new Steps(ctx), ct);
        }

        ctx.Details["validation"] = result;

        var figures = new Dictionary<string, string>
        {
            ["reference"] = result.Reference,
            ["candidate"] = result.Candidate,
            ["steps"] = result.StepComparisons.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["maxNoiseRelL2"] = RunContext.Sci(result.MaxNoiseRelativeL2),
            ["finalLatentsRelL2"] = RunContext.Sci(result.FinalLatents?.RelativeL2 ?? 0),
            ["maxNoiseAbs"] = RunContext.Sci(result.MaxNoiseAbsError),
            ["minNoiseCosine"] = RunContext.Num(result.MinNoiseCosine, "0.######"),
            ["noiseRelL2Tolerance"] = RunContext.Sci(request.Tolerance.NoiseRelativeL2),
            ["latentsRelL2Tolerance"] = RunContext.Sci(request.Tolerance.LatentRelativeL2),
            ["referenceStepsPerSecond"] = RunContext.Num(result.ReferenceTiming.StepsPerSecond, "0.##"),
            ["candidateStepsPerSecond"] = RunContext.Num(result.CandidateTiming.StepsPerSecond, "0.##"),
        };
        if (result.Image is { } image)
        {
            figures["psnr"] = RunContext.Num(image.Psnr, "0.##");
            figures["image"] = image.ImagePath;
        }

        var failures = new List<string>();
        if (!result.Passed)
        {
            failures.Add(result.Summary());
        }

        var t = spec.Tolerance;
        if (t.MaxAbs is { } maxAbs && result.MaxNoiseAbsError > maxAbs)
        {
            failures.Add($"max |noise error| {RunContext.Sci(result.MaxNoiseAbsError)} > max-abs {RunContext.Sci(maxAbs)}");
        }

        if (t.MinCosine is { } minCosine && result.MinNoiseCosine < minCosine)
        {
            failures.Add($"min noise cosine {RunContext.Num(result.MinNoiseCosine, "0.######")} < min-cosine {RunContext.Num(minCosine, "0.######")}");
        }

        if (t.MinPsnr is { } minPsnr && result.Image is { } img && img.Psnr < minPsnr)
        {
            failures.Add($"image PSNR {RunContext.Num(img.Psnr, "0.##")} dB < min-psnr {RunContext.Num(minPsnr, "0.##")} dB");
        }

        var standIn = kind == CandidateKind.Engine && ctx.Notes.Any(n => n.Contains("stand-in", StringComparison.Ordinal)) ? " [engine run by a trtexec stand-in]" : "";
        ctx.Gate("validation", stage, failures.Count == 0, ExitCode.OutOfTolerance,
            (failures.Count == 0 ? result.Summary() : string.Join("; ", failures)) + standIn, clock, figures);
    }

    /// <summary>Steps done, reported in order on the caller's thread.</summary>
    private sealed class Steps(RunContext ctx) : IProgress<LoopProgress>
    {
        public void Report(LoopProgress value) => ctx.Progress(RunStage.Validate,
            $"step {value.Step}/{value.Steps}, {RunContext.Num(value.MillisecondsPerStep, "0")} ms/step", value.Steps == 0 ? null : Math.Min(1, (double)value.Step / value.Steps));
    }
}
