using System.Diagnostics;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Validation;

/// <summary>What a denoising loop runs: scheduler, steps, guidance, and where the latents and embeddings come from.</summary>
public sealed record DenoiseSpec
{
    public required SchedulerOptions Scheduler { get; init; }

    public int Steps { get; init; } = 50;

    /// <summary>Classifier-free guidance scale; above 1 the UNet sees the batch twice (unconditional first).</summary>
    public double GuidanceScale { get; init; } = 7.5;

    /// <summary>Initial latents [B,C,H,W] before scaling by the scheduler's init noise sigma; null: seeded Gaussian.</summary>
    public Tensor? Latents { get; init; }

    /// <summary>Text embeddings [2B,L,D] (rows 0..B-1 unconditional, B..2B-1 conditional); null: seeded Gaussian.</summary>
    public Tensor? Embeddings { get; init; }

    /// <summary>Seed of generated latents and embeddings (and of the scheduler's noise unless that sets its own).</summary>
    public ulong Seed { get; init; }

    public bool RecordTrajectory { get; init; }
}

/// <summary>The outcome of a loop: final latents [B,C,H,W], optionally every step's latents [steps,B,C,H,W].</summary>
public sealed record DenoiseResult(Tensor FinalLatents, Tensor? Trajectory, IReadOnlyList<double> Timesteps, TimeSpan Elapsed, TimeSpan PredictorTime)
{
    public double StepsPerSecond => Timesteps.Count / Elapsed.TotalSeconds;

    /// <summary>Time inside the bare session runs (no copies, conversions or scheduler math); null where the predictor does not say.</summary>
    public TimeSpan? SessionTime { get; init; }

    /// <summary>The loop's time over bare session runs, minus one (what the copies, conversions and the host scheduler cost).</summary>
    public double? Overhead => SessionTime is { Ticks: > 0 } s ? (Elapsed / s) - 1 : null;
}

/// <summary>The start of a loop, resolved once so that two models can run from exactly the same state.</summary>
public sealed record DenoiseStart(double[] Latents, long[] LatentDims, float[] Embeddings, long[] EmbeddingDims, bool Guided)
{
    /// <summary>Resolves latents and embeddings from the spec or, where it gives none, from seeded noise shaped as the model declares.</summary>
    public static DenoiseStart Resolve(UnetSignature signature, DenoiseSpec spec)
    {
        var guided = spec.GuidanceScale > 1.0;
        var declared = signature.Sample.Dims;
        long[] latentDims;
        double[] latents;
        if (spec.Latents is not null)
        {
            if (spec.Latents.Dims.Length != 4 || !spec.Latents.Type.IsFloatingPoint())
            {
                throw new ForgeInputException($"latents: expected a float tensor [B,C,H,W], got {spec.Latents.Type.OnnxName()}[{string.Join(",", spec.Latents.Dims)}]");
            }

            latentDims = spec.Latents.Dims;
            latents = spec.Latents.ToDoubleArray();
        }
        else
        {
            // Dims the model leaves open take Stable Diffusion's: 4 latent channels, 64×64 (512×512 pixels).
            var modelBatch = declared[0] > 0 ? declared[0] : (guided ? 2 : 1);
            latentDims =
            [
                guided ? Math.Max(1, modelBatch / 2) : modelBatch,
                declared[1] > 0 ? declared[1] : DefaultLatentChannels,
                declared[2] > 0 ? declared[2] : DefaultLatentSize,
                declared[3] > 0 ? declared[3] : DefaultLatentSize,
            ];
            latents = new double[Count(latentDims)];
            new SeededGaussian(spec.Seed).Fill(latents);
        }

        for (var d = 1; d < 4; d++)
        {
            if (declared[d] > 0 && declared[d] != latentDims[d])
            {
                throw new ForgeInputException($"latents [{string.Join(",", latentDims)}] do not fit model input {signature.Sample}");
            }
        }

        var batch = latentDims[0];
        var rows = guided ? 2 * batch : batch;
        if (declared[0] > 0 && declared[0] != rows)
        {
            throw new ForgeInputException($"model input {signature.Sample} has a fixed batch of {declared[0]}, the loop needs {rows} ({batch} latent(s){(guided ? ", doubled for guidance" : "")})");
        }

        float[] embeddings;
        long[] embeddingDims;
        if (spec.Embeddings is not null)
        {
            var e = spec.Embeddings;
            if (e.Dims.Length != 3 || !e.Type.IsFloatingPoint())
            {
                throw new ForgeInputException($"embeddings: expected a float tensor [2B,L,D], got {e.Type.OnnxName()}[{string.Join(",", e.Dims)}]");
            }

            var all = e.ToDoubleArray();
            var rowSize = e.Dims[1] * e.Dims[2];
            if (e.Dims[0] == rows)
            {
                embeddings = all.Select(v => (float)v).ToArray();
            }
            else if (!guided && e.Dims[0] == 2 * rows)
            {
                embeddings = all.Skip((int)(rows * rowSize)).Select(v => (float)v).ToArray(); // the conditional half
            }
            else
            {
                throw new ForgeInputException($"embeddings [{string.Join(",", e.Dims)}]: need {(guided ? 2 * batch : batch)} rows for {batch} latent(s){(guided ? " with guidance (unconditional rows first)" : "")}");
            }

            embeddingDims = [rows, e.Dims[1], e.Dims[2]];
        }
        else
        {
            var ed = signature.Embeddings.Dims;
            if (ed[2] < 0)
            {
                throw new ForgeInputException($"model input {signature.Embeddings}: the embedding width is not fixed; give the embeddings");
            }

            embeddingDims = [rows, ed[1] > 0 ? ed[1] : 77, ed[2]];
            var noise = new double[Count(embeddingDims)];
            new SeededGaussian(spec.Seed ^ 0x5EED_E4BE_DD16_0000UL).Fill(noise);
            embeddings = noise.Select(v => (float)v).ToArray();
        }

        var ewant = signature.Embeddings.Dims;
        for (var d = 0; d < 3; d++)
        {
            if (ewant[d] > 0 && ewant[d] != embeddingDims[d])
            {
                throw new ForgeInputException($"embeddings [{string.Join(",", embeddingDims)}] do not fit model input {signature.Embeddings}");
            }
        }

        return new DenoiseStart(latents, latentDims, embeddings, embeddingDims, guided);
    }

    internal static long Count(long[] dims) => dims.Aggregate(1L, (a, d) => a * d);

    public const long DefaultLatentChannels = 4;

    public const long DefaultLatentSize = 64;
}

/// <summary>
/// One denoising loop, advanced a step at a time (the validator runs two in lockstep). Latents are kept in double;
/// the model's input batch, its raw prediction and the guided noise live in buffers allocated once. Guidance and the
/// scheduler step run here, in C# on the host, whatever device runs the UNet: only the latent batch goes to the
/// predictor and only its noise prediction comes back (an <see cref="OnnxNoisePredictor"/> keeps its tensors on the device).
/// </summary>
public sealed class DenoiseRun
{
    private readonly INoisePredictor predictor;
    private readonly DenoiseSpec spec;
    private readonly DenoiseStart start;
    private readonly float[] modelInput;
    private readonly long[] modelDims;
    private readonly float[]? trajectory;
    private long predictorTicks;

    public DenoiseRun(INoisePredictor predictor, DenoiseSpec spec, DenoiseStart start)
    {
        this.predictor = predictor;
        this.spec = spec;
        this.start = start;
        try
        {
            Scheduler = SchedulerFactory.Create(spec.Scheduler);
            Scheduler.SetTimesteps(spec.Steps);
        }
        catch (ArgumentException e)
        {
            throw new ForgeInputException($"scheduler {SchedulerOptions.KindName(spec.Scheduler.Kind)}: {e.Message}", e);
        }

        var n = start.Latents.Length;
        Latents = start.Latents.Select(v => v * Scheduler.InitNoiseSigma).ToArray();
        var copies = start.Guided ? 2 : 1;
        modelDims = [start.LatentDims[0] * copies, start.LatentDims[1], start.LatentDims[2], start.LatentDims[3]];
        modelInput = new float[n * copies];
        Prediction = new float[n * copies];
        GuidedNoise = new double[n];
        trajectory = spec.RecordTrajectory ? new float[Scheduler.Timesteps.Count * n] : null;
    }

    public IScheduler Scheduler { get; }

    public int StepCount => Scheduler.Timesteps.Count;

    /// <summary>Index of the next step to run.</summary>
    public int StepIndex { get; private set; }

    /// <summary>The current latents, [B,C,H,W].</summary>
    public double[] Latents { get; }

    /// <summary>The model's raw output of the last step (the whole batch, unconditional half first when guided).</summary>
    public float[] Prediction { get; }

    /// <summary>The guided noise of the last step, as the scheduler received it.</summary>
    public double[] GuidedNoise { get; }

    public TimeSpan PredictorTime => Stopwatch.GetElapsedTime(0, predictorTicks);

    public async ValueTask StepAsync(CancellationToken ct)
    {
        var i = StepIndex;
        if (i >= StepCount)
        {
            throw new InvalidOperationException("the loop has run all its steps");
        }

        var n = Latents.Length;
        var scale = Scheduler.InputScale(i);
        var input = modelInput.AsSpan();
        for (var j = 0; j < n; j++)
        {
            input[j] = (float)(Latents[j] * scale);
        }

        if (start.Guided)
        {
            input[..n].CopyTo(input[n..]);
        }

        var began = Stopwatch.GetTimestamp();
        await predictor.PredictAsync(modelInput, modelDims, Scheduler.Timesteps[i], start.Embeddings, start.EmbeddingDims, Prediction, ct).ConfigureAwait(false);
        predictorTicks += Stopwatch.GetTimestamp() - began;

        var g = spec.GuidanceScale;
        if (start.Guided)
        {
            for (var j = 0; j < n; j++)
            {
                double uncond = Prediction[j];
                GuidedNoise[j] = uncond + (g * (Prediction[n + j] - uncond));
            }
        }
        else
        {
            for (var j = 0; j < n; j++)
            {
                GuidedNoise[j] = Prediction[j];
            }
        }

        Scheduler.Step(i, GuidedNoise, Latents);
        if (trajectory is not null)
        {
            var row = trajectory.AsSpan(i * n, n);
            for (var j = 0; j < n; j++)
            {
                row[j] = (float)Latents[j];
            }
        }

        StepIndex++;
    }

    public Tensor LatentsTensor() => Tensor.FromFloats(start.LatentDims, Latents.Select(v => (float)v).ToArray());

    public Tensor? TrajectoryTensor() => trajectory is null ? null : Tensor.FromFloats([StepIndex, .. start.LatentDims], trajectory[..(StepIndex * Latents.Length)]);
}

/// <summary>Runs a whole denoising loop.</summary>
public static class DenoiseLoop
{
    public static async Task<DenoiseResult> RunAsync(INoisePredictor predictor, DenoiseSpec spec, IProgress<LoopProgress>? progress, CancellationToken ct)
    {
        var start = DenoiseStart.Resolve(predictor.Signature, spec);
        var run = new DenoiseRun(predictor, spec, start);
        var began = Stopwatch.GetTimestamp();
        while (run.StepIndex < run.StepCount)
        {
            await run.StepAsync(ct).ConfigureAwait(false);
            progress?.Report(new LoopProgress(run.StepIndex, run.StepCount, Stopwatch.GetElapsedTime(began)));
        }

        var elapsed = Stopwatch.GetElapsedTime(began);
        return new DenoiseResult(run.LatentsTensor(), run.TrajectoryTensor(), run.Scheduler.Timesteps, elapsed, run.PredictorTime);
    }
}

/// <summary>A denoising loop's progress: <paramref name="Step"/> of <paramref name="Steps"/> done, after <paramref name="Elapsed"/>.</summary>
public sealed record LoopProgress(int Step, int Steps, TimeSpan Elapsed)
{
    public double MillisecondsPerStep => Step == 0 ? 0 : Elapsed.TotalMilliseconds / Step;
}
