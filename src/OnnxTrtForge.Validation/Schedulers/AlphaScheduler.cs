namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>
/// Common part of DDIM and PNDM: integer timesteps over the training range (v0.2.4: <c>range(0, N, N // n) + offset</c>;
/// today: <c>timestep_spacing</c>, default leading, plus <c>steps_offset</c>), unscaled model input, init noise 1.
/// </summary>
public abstract class AlphaScheduler : IScheduler
{
    protected AlphaScheduler(SchedulerOptions options)
    {
        if (options.UseKarrasSigmas)
        {
            throw new ArgumentException($"{SchedulerOptions.KindName(options.Kind)} has no Karras sigmas in diffusers");
        }

        Options = options;
        Schedule = new NoiseSchedule(options);
        FinalAlphaCumprod = options.SetAlphaToOne ? 1.0 : Schedule.AlphasCumprod[0];
    }

    public SchedulerOptions Options { get; }

    protected NoiseSchedule Schedule { get; }

    protected double FinalAlphaCumprod { get; }

    /// <summary>N // n, the distance between consecutive timesteps.</summary>
    protected int Ratio { get; private set; }

    protected long[] Base { get; private set; } = [];

    public abstract IReadOnlyList<double> Timesteps { get; }

    public IReadOnlyList<double> Sigmas => [];

    public double InitNoiseSigma => 1.0;

    public double InputScale(int stepIndex) => 1.0;

    public virtual void SetTimesteps(int steps)
    {
        if (steps < 1)
        {
            throw new ArgumentException($"steps must be at least 1, not {steps}");
        }

        var n = Options.NumTrainTimesteps;
        Ratio = n / steps;
        Base = Options.Semantics == SchedulerSemantics.V024
            ? NoiseSchedule.IntegerTimesteps(TimestepSpacing.Leading, n, steps, Options.Offset)
            : NoiseSchedule.IntegerTimesteps(Options.TimestepSpacing ?? TimestepSpacing.Leading, n, steps, Options.StepsOffset ?? 0);
    }

    protected double AlphaAt(long t) => t >= 0 ? Schedule.AlphasCumprod[t] : FinalAlphaCumprod;

    public abstract void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample);
}

/// <summary>diffusers' DDIMScheduler (epsilon prediction, no clipping); eta &gt; 0 adds seeded noise.</summary>
public sealed class DdimScheduler(SchedulerOptions options) : AlphaScheduler(options)
{
    private double[] timesteps = [];
    private SeededGaussian noise = new(options.Seed);

    public override IReadOnlyList<double> Timesteps => timesteps;

    public override void SetTimesteps(int steps)
    {
        base.SetTimesteps(steps);
        timesteps = Base.Select(t => (double)t).ToArray();
        noise = new SeededGaussian(Options.Seed);
    }

    public override void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample)
    {
        var t = Base[stepIndex];
        var prev = t - Ratio;
        var alphaT = AlphaAt(t);
        var alphaPrev = AlphaAt(prev);
        var betaT = 1 - alphaT;
        var betaPrev = 1 - alphaPrev;
        var variance = betaPrev / betaT * (1 - (alphaT / alphaPrev));
        var std = Options.Eta * Math.Sqrt(variance);
        var sqrtAlphaT = Math.Sqrt(alphaT);
        var sqrtBetaT = Math.Sqrt(betaT);
        var sqrtAlphaPrev = Math.Sqrt(alphaPrev);
        var direction = Math.Sqrt(1 - alphaPrev - (std * std));
        for (var j = 0; j < sample.Length; j++)
        {
            var x0 = (sample[j] - (sqrtBetaT * modelOutput[j])) / sqrtAlphaT;
            var next = (sqrtAlphaPrev * x0) + (direction * modelOutput[j]);
            if (std > 0)
            {
                next += std * noise.NextGaussian();
            }

            sample[j] = next;
        }
    }
}

/// <summary>
/// diffusers' PNDMScheduler with <c>skip_prk_steps</c> (the PLMS sampler): timesteps
/// <c>reversed(ts[:-1] + ts[-2:-1] + ts[-1:])</c>, the repeated second step averaging the first two predictions.
/// </summary>
public sealed class PndmScheduler(SchedulerOptions options) : AlphaScheduler(options)
{
    private readonly List<double[]> ets = [];
    private double[][] pool = [];
    private int next;
    private double[] curSample = [];
    private double[] prediction = [];
    private double[] timesteps = [];
    private long[] plms = [];
    private int counter;

    public override IReadOnlyList<double> Timesteps => timesteps;

    public override void SetTimesteps(int steps)
    {
        base.SetTimesteps(steps);
        var ascending = Base.Reverse().ToArray();
        var list = new List<long>();
        list.AddRange(ascending[..^1]);
        if (ascending.Length >= 2)
        {
            list.Add(ascending[^2]);
        }

        list.Add(ascending[^1]);
        list.Reverse();
        plms = [.. list];
        timesteps = plms.Select(t => (double)t).ToArray();
        ets.Clear();
        counter = 0;
        next = 0;
    }

    public override void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample)
    {
        var size = sample.Length;
        if (pool.Length == 0 || pool[0].Length != size)
        {
            pool = Enumerable.Range(0, 5).Select(_ => new double[size]).ToArray();
            curSample = new double[size];
            prediction = new double[size];
            ets.Clear();
        }

        long timestep = plms[stepIndex];
        var prev = timestep - Ratio;
        if (Options.Semantics == SchedulerSemantics.V024)
        {
            prev = Math.Max(prev, 0);
        }

        if (counter != 1)
        {
            if (ets.Count > 3)
            {
                ets.RemoveAt(0);
            }

            var e = pool[next];
            next = (next + 1) % pool.Length;
            modelOutput.CopyTo(e);
            ets.Add(e);
        }
        else
        {
            prev = timestep;
            timestep += Ratio;
        }

        var m = prediction;
        if (ets.Count == 1 && counter == 0)
        {
            modelOutput.CopyTo(m);
            sample.CopyTo(curSample);
        }
        else if (ets.Count == 1 && counter == 1)
        {
            var e0 = ets[^1];
            for (var j = 0; j < size; j++)
            {
                m[j] = (modelOutput[j] + e0[j]) / 2;
            }

            curSample.CopyTo(sample);
        }
        else if (ets.Count == 2)
        {
            var (a, b) = (ets[^1], ets[^2]);
            for (var j = 0; j < size; j++)
            {
                m[j] = ((3 * a[j]) - b[j]) / 2;
            }
        }
        else if (ets.Count == 3)
        {
            var (a, b, c) = (ets[^1], ets[^2], ets[^3]);
            for (var j = 0; j < size; j++)
            {
                m[j] = ((23 * a[j]) - (16 * b[j]) + (5 * c[j])) / 12;
            }
        }
        else
        {
            var (a, b, c, d) = (ets[^1], ets[^2], ets[^3], ets[^4]);
            for (var j = 0; j < size; j++)
            {
                m[j] = (1.0 / 24) * ((55 * a[j]) - (59 * b[j]) + (37 * c[j]) - (9 * d[j]));
            }
        }

        PreviousSample(sample, timestep, prev, m);
        counter++;
    }

    private void PreviousSample(Span<double> sample, long timestep, long prev, double[] m)
    {
        // v0.2.4 indexes alphas_cumprod by t + 1 - offset (the offset restores the trained timestep).
        var shift = Options.Semantics == SchedulerSemantics.V024 ? 1 - Options.Offset : 0;
        var alphaT = AlphaAt(timestep + shift);
        var alphaPrev = AlphaAt(prev + shift);
        var betaT = 1 - alphaT;
        var betaPrev = 1 - alphaPrev;
        var sampleCoefficient = Math.Sqrt(alphaPrev / alphaT);
        var denominator = (alphaT * Math.Sqrt(betaPrev)) + Math.Sqrt(alphaT * betaT * alphaPrev);
        var modelCoefficient = (alphaPrev - alphaT) / denominator;
        for (var j = 0; j < sample.Length; j++)
        {
            sample[j] = (sampleCoefficient * sample[j]) - (modelCoefficient * m[j]);
        }
    }
}
