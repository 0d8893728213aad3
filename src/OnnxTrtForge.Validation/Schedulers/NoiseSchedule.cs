namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>
/// The training noise schedule and the numeric helpers diffusers builds its schedulers from, reproduced with the
/// precision diffusers has: betas and their cumulative product are float32 values (numpy float32 under v0.2.4, torch
/// with a double accumulator today), sigmas are computed in float32, everything after that in double.
/// </summary>
public sealed class NoiseSchedule
{
    public NoiseSchedule(SchedulerOptions options)
    {
        var n = options.NumTrainTimesteps;
        if (n < 2)
        {
            throw new ArgumentException($"num_train_timesteps must be at least 2, not {n}");
        }

        var betas = new float[n];
        var torch = options.Semantics == SchedulerSemantics.Current;
        switch (options.BetaSchedule)
        {
            case "scaled_linear":
                var roots = torch ? TorchLinspaceFloat(Math.Sqrt(options.BetaStart), Math.Sqrt(options.BetaEnd), n) : NumpyLinspaceFloat(Math.Sqrt(options.BetaStart), Math.Sqrt(options.BetaEnd), n);
                for (var i = 0; i < n; i++)
                {
                    betas[i] = roots[i] * roots[i];
                }

                break;
            case "linear":
                betas = torch ? TorchLinspaceFloat(options.BetaStart, options.BetaEnd, n) : NumpyLinspaceFloat(options.BetaStart, options.BetaEnd, n);
                break;
            default:
                throw new ArgumentException($"beta schedule '{options.BetaSchedule}' is not supported (scaled_linear, linear)");
        }

        AlphasCumprod = new double[n];
        TrainSigmas = new double[n];
        LogTrainSigmas = new double[n];
        double accumulator = 1.0;
        var product = 1f;
        for (var i = 0; i < n; i++)
        {
            var alpha = 1f - betas[i];
            float cumulative;
            if (torch)
            {
                accumulator *= alpha;
                cumulative = (float)accumulator;
            }
            else
            {
                product *= alpha;
                cumulative = product;
            }

            AlphasCumprod[i] = cumulative;
            var sigma = MathF.Sqrt((1f - cumulative) / cumulative);
            TrainSigmas[i] = sigma;
            LogTrainSigmas[i] = MathF.Log(sigma);
        }
    }

    /// <summary>alphas_cumprod[t] for t in [0, num_train_timesteps).</summary>
    public double[] AlphasCumprod { get; }

    /// <summary>sqrt((1 - ᾱ_t) / ᾱ_t), ascending in t, as float32 values.</summary>
    public double[] TrainSigmas { get; }

    /// <summary>log of <see cref="TrainSigmas"/> in float32, as diffusers' <c>log_sigmas</c>.</summary>
    public double[] LogTrainSigmas { get; }

    /// <summary>numpy.linspace(start, stop, num) in double: start + i·step, the last element exactly stop.</summary>
    public static double[] NumpyLinspace(double start, double stop, int num)
    {
        var result = new double[num];
        if (num == 1)
        {
            result[0] = start;
            return result;
        }

        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++)
        {
            result[i] = (i * step) + start;
        }

        result[num - 1] = stop;
        return result;
    }

    private static float[] NumpyLinspaceFloat(double start, double stop, int num) => NumpyLinspace(start, stop, num).Select(v => (float)v).ToArray();

    /// <summary>torch.linspace(start, end, steps, dtype=float32) on CPU: float arithmetic, filled from both ends.</summary>
    private static float[] TorchLinspaceFloat(double start, double end, int steps)
    {
        var s = (float)start;
        var e = (float)end;
        var step = (e - s) / (steps - 1);
        var halfway = steps / 2;
        var result = new float[steps];
        for (var i = 0; i < steps; i++)
        {
            result[i] = i < halfway ? s + (step * i) : e - (step * (steps - i - 1));
        }

        return result;
    }

    /// <summary>numpy.interp(x, arange(len(fp)), fp).</summary>
    public static double Interp(double x, double[] fp)
    {
        if (x <= 0)
        {
            return fp[0];
        }

        if (x >= fp.Length - 1)
        {
            return fp[^1];
        }

        var j = (int)Math.Floor(x);
        if (x == j)
        {
            return fp[j];
        }

        var slope = fp[j + 1] - fp[j];
        return (slope * (x - j)) + fp[j];
    }

    /// <summary>Karras et al. (2022) sigmas between the ends of <paramref name="descending"/>, rho = 7.</summary>
    public static double[] KarrasSigmas(double sigmaMax, double sigmaMin, int steps)
    {
        const double rho = 7.0;
        var ramp = NumpyLinspace(0, 1, steps);
        var minInvRho = Math.Pow(sigmaMin, 1 / rho);
        var maxInvRho = Math.Pow(sigmaMax, 1 / rho);
        return ramp.Select(r => Math.Pow(maxInvRho + (r * (minInvRho - maxInvRho)), rho)).ToArray();
    }

    /// <summary>diffusers' <c>_sigma_to_t</c>: the fractional training timestep whose log-sigma interpolates to <paramref name="sigma"/>.</summary>
    public double SigmaToT(double sigma)
    {
        var logSigma = Math.Log(Math.Max(sigma, 1e-10));
        var logs = LogTrainSigmas;
        var low = 0;
        for (var i = 0; i < logs.Length; i++)
        {
            if (logSigma - logs[i] >= 0)
            {
                low = i;
            }
        }

        low = Math.Min(low, logs.Length - 2);
        var high = low + 1;
        var w = (logs[low] - logSigma) / (logs[low] - logs[high]);
        w = Math.Clamp(w, 0, 1);
        return ((1 - w) * low) + (w * high);
    }

    /// <summary>Rounds half to even, as numpy's round.</summary>
    public static double Round(double x) => Math.Round(x, MidpointRounding.ToEven);

    /// <summary>Integer timesteps of DDIM/PNDM/DPM under the given spacing (descending).</summary>
    public static long[] IntegerTimesteps(TimestepSpacing spacing, int trainSteps, int steps, int stepsOffset)
    {
        switch (spacing)
        {
            case TimestepSpacing.Linspace:
                return NumpyLinspace(0, trainSteps - 1, steps).Select(v => (long)Round(v)).Reverse().ToArray();
            case TimestepSpacing.Leading:
                var ratio = trainSteps / steps;
                return Enumerable.Range(0, steps).Select(i => ((long)i * ratio) + stepsOffset).Reverse().ToArray();
            default:
                var trailing = (double)trainSteps / steps;
                return Arange(trainSteps, 0, -trailing).Select(v => (long)Round(v) - 1).ToArray();
        }
    }

    /// <summary>numpy.arange(start, stop, step) for a negative step, as doubles.</summary>
    public static double[] Arange(double start, double stop, double step)
    {
        var count = (int)Math.Ceiling((stop - start) / step);
        var result = new double[Math.Max(count, 0)];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = start + (i * step);
        }

        return result;
    }

    /// <summary>Rounds to float32 and back, as diffusers' float32 tensors store values.</summary>
    public static double F32(double x) => (float)x;
}
