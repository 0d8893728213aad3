namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>
/// diffusers' DPMSolverMultistepScheduler as DPM-Solver++ 2M: <c>algorithm_type="dpmsolver++"</c>, <c>solver_order=2</c>,
/// midpoint solver, <c>lower_order_final</c>, final sigma 0, epsilon prediction. Timesteps are
/// <c>linspace(0, N-1, n+1).round()[::-1][:-1]</c> by default; with Karras sigmas, the rounded timesteps of those sigmas.
/// </summary>
public sealed class DpmSolverScheduler : IScheduler
{
    private readonly NoiseSchedule schedule;
    private double[] timesteps = [];
    private double[] sigmas = [];
    private double[] previousX0 = [];
    private double[] currentX0 = [];
    private int lowerOrderNums;

    public DpmSolverScheduler(SchedulerOptions options)
    {
        if (options.Semantics == SchedulerSemantics.V024)
        {
            throw new ArgumentException("DPM-Solver++ did not exist in diffusers v0.2.4; use current semantics");
        }

        Options = options;
        schedule = new NoiseSchedule(options);
    }

    public SchedulerOptions Options { get; }

    public IReadOnlyList<double> Timesteps => timesteps;

    public IReadOnlyList<double> Sigmas => sigmas;

    public double InitNoiseSigma => 1.0;

    public void SetTimesteps(int steps)
    {
        if (steps < 1)
        {
            throw new ArgumentException($"steps must be at least 1, not {steps}");
        }

        var n = Options.NumTrainTimesteps;
        var offset = Options.StepsOffset ?? 0;
        double[] ts = (Options.TimestepSpacing ?? TimestepSpacing.Linspace) switch
        {
            TimestepSpacing.Linspace => NoiseSchedule.NumpyLinspace(0, n - 1, steps + 1).Select(NoiseSchedule.Round).Reverse().Take(steps).ToArray(),
            TimestepSpacing.Leading => Enumerable.Range(0, steps + 1).Select(i => (double)((i * (n / (steps + 1))) + offset)).Reverse().Take(steps).ToArray(),
            _ => NoiseSchedule.Arange(n, 0, -(double)n / steps).Select(v => NoiseSchedule.Round(v) - 1).ToArray(),
        };
        var train = schedule.TrainSigmas;
        double[] s;
        if (Options.UseKarrasSigmas)
        {
            s = NoiseSchedule.KarrasSigmas(train[^1], train[0], steps);
            ts = s.Select(sigma => NoiseSchedule.Round(schedule.SigmaToT(sigma))).ToArray();
        }
        else
        {
            s = ts.Select(t => NoiseSchedule.Interp(t, train)).ToArray();
        }

        timesteps = ts;
        sigmas = [.. s.Select(NoiseSchedule.F32), 0.0];
        lowerOrderNums = 0;
    }

    public double InputScale(int stepIndex) => 1.0;

    public void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample)
    {
        var size = sample.Length;
        if (previousX0.Length != size)
        {
            previousX0 = new double[size];
            currentX0 = new double[size];
        }

        var count = timesteps.Length;
        var lowerOrderFinal = stepIndex == count - 1; // final sigma 0 always takes the first-order step
        var (alphaS0, sigmaS0) = AlphaSigma(sigmas[stepIndex]);
        var (alphaT, sigmaT) = AlphaSigma(sigmas[stepIndex + 1]);

        // convert_model_output: the data prediction x0 = (x - σ_t ε) / α_t.
        (previousX0, currentX0) = (currentX0, previousX0);
        for (var j = 0; j < size; j++)
        {
            currentX0[j] = (sample[j] - (sigmaS0 * modelOutput[j])) / alphaS0;
        }

        var lambdaT = Math.Log(alphaT) - Math.Log(sigmaT);
        var lambdaS0 = Math.Log(alphaS0) - Math.Log(sigmaS0);
        var h = lambdaT - lambdaS0;
        var ratio = sigmaT / sigmaS0;
        var phi = alphaT * (Math.Exp(-h) - 1.0);
        if (lowerOrderNums < 1 || lowerOrderFinal)
        {
            for (var j = 0; j < size; j++)
            {
                sample[j] = (ratio * sample[j]) - (phi * currentX0[j]);
            }
        }
        else
        {
            var (alphaS1, sigmaS1) = AlphaSigma(sigmas[stepIndex - 1]);
            var lambdaS1 = Math.Log(alphaS1) - Math.Log(sigmaS1);
            var r0 = (lambdaS0 - lambdaS1) / h;
            for (var j = 0; j < size; j++)
            {
                var d1 = (1.0 / r0) * (currentX0[j] - previousX0[j]);
                sample[j] = (ratio * sample[j]) - (phi * currentX0[j]) - (0.5 * phi * d1);
            }
        }

        if (lowerOrderNums < 2)
        {
            lowerOrderNums++;
        }
    }

    private static (double Alpha, double Sigma) AlphaSigma(double sigma)
    {
        var alpha = 1.0 / Math.Sqrt((sigma * sigma) + 1);
        return (alpha, sigma * alpha);
    }
}
