using System.Diagnostics;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Validation;

/// <summary>
/// The gate of <c>forge validate</c>, per step: the candidate's raw noise prediction against the reference's (relative L2)
/// and its latents against the reference's latents (relative L2 drift, which accumulates over the trajectory).
/// </summary>
public sealed record ValidationTolerance
{
    public double NoiseRelativeL2 { get; init; } = 5e-3;

    public double LatentRelativeL2 { get; init; } = 1e-2;
}

/// <summary>A <c>forge validate</c> job.</summary>
public sealed record ValidationRequest
{
    public required string ReferencePath { get; init; }

    /// <summary>An ONNX model, or a TensorRT engine (.trt, .engine, .plan) run through trtexec.</summary>
    public required string CandidatePath { get; init; }

    public required DenoiseSpec Spec { get; init; }

    public RuntimeOptions Runtime { get; init; } = new();

    public ValidationTolerance Tolerance { get; init; } = new();

    /// <summary>A VAE decoder; with <see cref="ImagePath"/>, both final latents are decoded and compared as images.</summary>
    public string? DecoderPath { get; init; }

    public string? ImagePath { get; init; }

    /// <summary>trtexec for engine candidates (default: trtexec on PATH).</summary>
    public string? TrtexecPath { get; init; }

    /// <summary>
    /// For an engine candidate: the ONNX model it was built from, whose input names and types the engine
    /// takes (an engine built from an fp16 export wants fp16 inputs). Default: the reference model.
    /// </summary>
    public string? EngineSourcePath { get; init; }

    public static bool IsEngine(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".trt" or ".engine" or ".plan";
}

/// <summary>One step of both loops side by side.</summary>
public sealed record StepComparison(int Step, double Timestep, TensorMetrics Noise, TensorMetrics GuidedNoise, TensorMetrics Latents, bool WithinTolerance);

/// <summary>Where NaN or Inf first appeared.</summary>
public sealed record NonFiniteFinding(int Step, double Timestep, string Model, string Tensor, long Count, long FirstIndex)
{
    public override string ToString() => $"{Model} {Tensor} at step {Step} (t={Timestep:0.###}): {Count} NaN/Inf, first at flat index {FirstIndex}";
}

/// <summary>Timing of one side of the comparison: the loop's own time against the time spent in the model.</summary>
public sealed record LoopTiming(double LoopSeconds, double PredictorSeconds, double? SessionSeconds, int Steps)
{
    public double StepsPerSecond => Steps / LoopSeconds;

    /// <summary>Loop time over bare session runs, minus one (null where the runtime does not report session time).</summary>
    public double? Overhead => SessionSeconds is > 0 ? (LoopSeconds / SessionSeconds.Value) - 1 : null;
}

/// <summary>Both decoded images and how far apart they are.</summary>
public sealed record ImageComparison(string ImagePath, int Width, int Height, double Psnr, TensorMetrics Pixels);

/// <summary>The outcome of <c>forge validate</c>.</summary>
public sealed record ValidationResult
{
    public required string Reference { get; init; }

    public required string Candidate { get; init; }

    public required string Scheduler { get; init; }

    public required SchedulerSemantics Semantics { get; init; }

    public required int Steps { get; init; }

    public required double GuidanceScale { get; init; }

    public required ValidationTolerance Tolerance { get; init; }

    public required IReadOnlyList<StepComparison> StepComparisons { get; init; }

    public TensorMetrics? FinalLatents { get; init; }

    public NonFiniteFinding? NonFinite { get; init; }

    public int? FirstStepOutOfTolerance { get; init; }

    public double MaxNoiseRelativeL2 => StepComparisons.Count == 0 ? 0 : StepComparisons.Max(s => s.Noise.RelativeL2);

    public double MaxNoiseAbsError => StepComparisons.Count == 0 ? 0 : StepComparisons.Max(s => s.Noise.MaxAbsError);

    public double MinNoiseCosine => StepComparisons.Count == 0 ? 1 : StepComparisons.Min(s => s.Noise.Cosine);

    public required LoopTiming ReferenceTiming { get; init; }

    public required LoopTiming CandidateTiming { get; init; }

    public ImageComparison? Image { get; init; }

    public bool Passed => NonFinite is null && FirstStepOutOfTolerance is null;

    /// <summary>One line: the verdict and, when it failed, the first step or tensor at fault.</summary>
    public string Summary()
    {
        if (NonFinite is not null)
        {
            return $"NaN/Inf in the {NonFinite}";
        }

        if (FirstStepOutOfTolerance is { } i)
        {
            var s = StepComparisons[i];
            var what = s.Noise.RelativeL2 > Tolerance.NoiseRelativeL2
                ? $"noise prediction rel L2 {s.Noise.RelativeL2:0.###E+0} > {Tolerance.NoiseRelativeL2:0.###E+0}"
                : $"latents drift rel L2 {s.Latents.RelativeL2:0.###E+0} > {Tolerance.LatentRelativeL2:0.###E+0}";
            return $"out of tolerance from step {i} (t={s.Timestep:0.###}): {what}";
        }

        return $"within tolerance over {StepComparisons.Count} steps: max noise rel L2 {MaxNoiseRelativeL2:0.###E+0}, final latents rel L2 {FinalLatents?.RelativeL2 ?? 0:0.###E+0}";
    }
}

/// <summary>Runs the reference and the candidate through the same loop from the same latents, every step compared.</summary>
public static class LoopValidation
{
    public static async Task<ValidationResult> RunAsync(ValidationRequest request, IProgress<LoopProgress>? progress, CancellationToken ct)
    {
        if (request.ImagePath is not null && request.DecoderPath is null)
        {
            throw new ForgeInputException("--image needs --decoder (a VAE decoder model)");
        }

        var signature = UnetSignature.FromModelFile(request.ReferencePath);
        using var reference = new OnnxNoisePredictor(request.ReferencePath, signature, request.Runtime);
        using var candidate = ValidationRequest.IsEngine(request.CandidatePath)
            ? await TrtexecNoisePredictor.CreateAsync(request.CandidatePath, request.EngineSourcePath is { } source ? UnetSignature.FromModelFile(source) : signature, request.TrtexecPath, ct).ConfigureAwait(false)
            : (INoisePredictor)new OnnxNoisePredictor(request.CandidatePath, request.Runtime);
        return await CompareAsync(reference, candidate, request, progress, ct).ConfigureAwait(false);
    }

    /// <summary>The comparison itself, over any two predictors (tests and other runtimes plug in here).</summary>
    public static async Task<ValidationResult> CompareAsync(INoisePredictor reference, INoisePredictor candidate, ValidationRequest request, IProgress<LoopProgress>? progress, CancellationToken ct)
    {
        var spec = request.Spec;
        var start = DenoiseStart.Resolve(reference.Signature, spec);
        var refRun = new DenoiseRun(reference, spec, start);
        var candRun = new DenoiseRun(candidate, spec, start);
        var tolerance = request.Tolerance;
        var steps = new List<StepComparison>();
        NonFiniteFinding? nonFinite = null;
        int? firstOut = null;
        long refTicks = 0;
        long candTicks = 0;
        var loopClock = Stopwatch.StartNew();
        for (var i = 0; i < refRun.StepCount; i++)
        {
            var t = refRun.Scheduler.Timesteps[i];
            var began = Stopwatch.GetTimestamp();
            await refRun.StepAsync(ct).ConfigureAwait(false);
            refTicks += Stopwatch.GetTimestamp() - began;
            began = Stopwatch.GetTimestamp();
            await candRun.StepAsync(ct).ConfigureAwait(false);
            candTicks += Stopwatch.GetTimestamp() - began;

            nonFinite = FindNonFinite(i, t, "reference", refRun) ?? FindNonFinite(i, t, "candidate", candRun);
            var noise = TensorComparison.Compare(refRun.Prediction, candRun.Prediction);
            var guided = TensorComparison.Compare(refRun.GuidedNoise, candRun.GuidedNoise);
            var latents = TensorComparison.Compare(refRun.Latents, candRun.Latents);
            var within = nonFinite is null && noise.RelativeL2 <= tolerance.NoiseRelativeL2 && latents.RelativeL2 <= tolerance.LatentRelativeL2;
            steps.Add(new StepComparison(i, t, noise, guided, latents, within));
            if (!within && firstOut is null && nonFinite is null)
            {
                firstOut = i;
            }

            progress?.Report(new LoopProgress(i + 1, refRun.StepCount, loopClock.Elapsed));
            if (nonFinite is not null)
            {
                break; // nothing after the first NaN/Inf means anything
            }
        }

        var final = nonFinite is null ? TensorComparison.Compare(refRun.Latents, candRun.Latents) : null;
        ImageComparison? image = null;
        if (request.DecoderPath is not null && request.ImagePath is not null && nonFinite is null)
        {
            image = LatentImages.DecodeAndCompare(request.DecoderPath, request.Runtime, refRun.LatentsTensor(), candRun.LatentsTensor(), request.ImagePath);
        }

        return new ValidationResult
        {
            Reference = reference.Description,
            Candidate = candidate.Description,
            Scheduler = SchedulerOptions.KindName(spec.Scheduler.Kind) + (spec.Scheduler.UseKarrasSigmas ? " (karras)" : ""),
            Semantics = spec.Scheduler.Semantics,
            Steps = refRun.StepCount,
            GuidanceScale = spec.GuidanceScale,
            Tolerance = tolerance,
            StepComparisons = steps,
            FinalLatents = final,
            NonFinite = nonFinite,
            FirstStepOutOfTolerance = firstOut,
            ReferenceTiming = Timing(refTicks, refRun, reference, steps.Count),
            CandidateTiming = Timing(candTicks, candRun, candidate, steps.Count),
            Image = image,
        };
    }

    private static LoopTiming Timing(long ticks, DenoiseRun run, INoisePredictor predictor, int steps) =>
        new(Stopwatch.GetElapsedTime(0, ticks).TotalSeconds, run.PredictorTime.TotalSeconds, (predictor as OnnxNoisePredictor)?.SessionTime.TotalSeconds, steps);

    private static NonFiniteFinding? FindNonFinite(int step, double t, string model, DenoiseRun run)
    {
        var (count, first) = TensorComparison.NonFinite(run.Prediction);
        if (count > 0)
        {
            return new NonFiniteFinding(step, t, model, "noise prediction", count, first);
        }

        (count, first) = TensorComparison.NonFinite(run.Latents);
        return count > 0 ? new NonFiniteFinding(step, t, model, "latents", count, first) : null;
    }
}
