using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Validation;

/// <summary>A <c>forge denoise</c> job: one model, one loop, the final latents (and optionally the trajectory) as TensorProtos.</summary>
public sealed record DenoiseRequest(string ModelPath, DenoiseSpec Spec, RuntimeOptions Runtime, string OutputPath)
{
    public string? TrajectoryPath { get; init; }
}

/// <summary>Runs <see cref="DenoiseRequest"/>s; outputs are written atomically once the loop has finished.</summary>
public static class Denoiser
{
    public static async Task<DenoiseResult> RunAsync(DenoiseRequest request, IProgress<LoopProgress>? progress, CancellationToken ct)
    {
        using var unet = new OnnxNoisePredictor(request.ModelPath, request.Runtime);
        var spec = request.Spec with { RecordTrajectory = request.TrajectoryPath is not null };
        var result = await DenoiseLoop.RunAsync(unet, spec, progress, ct).ConfigureAwait(false) with { SessionTime = unet.SessionTime };
        ct.ThrowIfCancellationRequested();
        OnnxWriter.SaveTensor(result.FinalLatents.WithName("latents"), request.OutputPath);
        if (request.TrajectoryPath is not null)
        {
            OnnxWriter.SaveTensor(result.Trajectory!.WithName("latents_trajectory"), request.TrajectoryPath);
        }

        return result;
    }

    /// <summary>Loads an optional tensor file given on the command line.</summary>
    public static Tensor? LoadOptional(string? path) => path is null ? null : OnnxReader.LoadTensor(path);
}
