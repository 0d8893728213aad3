namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>
/// A diffusion sampler as the denoising loop drives it: <see cref="SetTimesteps"/>, then for each step i scale the
/// model input by <see cref="InputScale"/>, run the model at <see cref="Timesteps"/>[i], and <see cref="Step"/>.
/// Steps are addressed by index; a scheduler that diffusers indexes by timestep value maps the index itself.
/// Arithmetic is in double. Implementations are stateful (multistep history) and reset by <see cref="SetTimesteps"/>.
/// </summary>
public interface IScheduler
{
    SchedulerOptions Options { get; }

    /// <summary>The value the model receives as its timestep input at each step.</summary>
    IReadOnlyList<double> Timesteps { get; }

    /// <summary>Sigmas per step plus the final one, for sigma-parameterized schedulers; empty otherwise.</summary>
    IReadOnlyList<double> Sigmas { get; }

    /// <summary>Scale of the initial noise (<c>init_noise_sigma</c>).</summary>
    double InitNoiseSigma { get; }

    void SetTimesteps(int steps);

    /// <summary>The factor <c>scale_model_input</c> multiplies the latents by at step <paramref name="stepIndex"/>.</summary>
    double InputScale(int stepIndex);

    /// <summary>Advances <paramref name="sample"/> in place given the (guided) noise prediction at step <paramref name="stepIndex"/>.</summary>
    void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample);
}
