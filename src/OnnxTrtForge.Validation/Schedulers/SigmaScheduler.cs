namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>
/// Common part of the k-diffusion style schedulers (LMS, Euler, Euler ancestral): sigmas interpolated from the training
/// schedule at the inference timesteps (or Karras sigmas), a final sigma of 0, model input divided by sqrt(σ²+1).
/// </summary>
public abstract class SigmaScheduler : IScheduler
{
    private double[] timesteps = [];
    private double[] sigmas = [];

    protected SigmaScheduler(SchedulerOptions options)
    {
        Options = options;
        Schedule = new NoiseSchedule(options);
    }

    public SchedulerOptions Options { get; }

    protected NoiseSchedule Schedule { get; }

    public IReadOnlyList<double> Timesteps => timesteps;

    public IReadOnlyList<double> Sigmas => sigmas;

    public double InitNoiseSigma { get; private set; } = 1.0;

    protected double[] SigmaArray => sigmas;

    public virtual void SetTimesteps(int steps)
    {
        if (steps < 1)
        {
            throw new ArgumentException($"steps must be at least 1, not {steps}");
        }

        var n = Options.NumTrainTimesteps;
        var train = Schedule.TrainSigmas;
        if (Options.Semantics == SchedulerSemantics.V024)
        {
            // v0.2.4 LMS: linspace(N-1, 0, steps) in double, sigmas by floor/ceil blending, init noise = sigmas[0].
            if (Options.UseKarrasSigmas)
            {
                throw new ArgumentException("Karras sigmas did not exist in diffusers v0.2.4; use current semantics");
            }

            timesteps = NoiseSchedule.NumpyLinspace(n - 1, 0, steps);
            sigmas = new double[steps + 1];
            for (var i = 0; i < steps; i++)
            {
                var t = timesteps[i];
                var low = (int)Math.Floor(t);
                var high = (int)Math.Ceiling(t);
                var frac = t - Math.Floor(t);
                sigmas[i] = ((1 - frac) * train[low]) + (frac * train[high]);
            }

            InitNoiseSigma = sigmas[0];
            OnReset();
            return;
        }

        var spacing = Options.TimestepSpacing ?? TimestepSpacing.Linspace;
        var offset = Options.StepsOffset ?? 0;
        double[] ts = spacing switch
        {
            TimestepSpacing.Linspace => NoiseSchedule.NumpyLinspace(0, n - 1, steps).Select(v => (double)(float)v).Reverse().ToArray(),
            TimestepSpacing.Leading => Enumerable.Range(0, steps).Select(i => (double)((i * (n / steps)) + offset)).Reverse().ToArray(),
            _ => NoiseSchedule.Arange(n, 0, -(double)n / steps).Select(v => NoiseSchedule.Round(v) - 1).ToArray(),
        };
        var s = ts.Select(t => NoiseSchedule.Interp(t, train)).ToArray();
        if (Options.UseKarrasSigmas)
        {
            s = NoiseSchedule.KarrasSigmas(s[0], s[^1], steps);
            ts = s.Select(sigma => (double)(float)Schedule.SigmaToT(sigma)).ToArray();
        }

        timesteps = ts;
        sigmas = [.. s.Select(NoiseSchedule.F32), 0.0];
        var max = sigmas.Max();
        InitNoiseSigma = spacing is TimestepSpacing.Linspace or TimestepSpacing.Trailing ? max : Math.Sqrt((max * max) + 1);
        OnReset();
    }

    public double InputScale(int stepIndex) => 1.0 / Math.Sqrt((sigmas[stepIndex] * sigmas[stepIndex]) + 1);

    public abstract void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample);

    /// <summary>Clears multistep history and reseeds noise.</summary>
    protected abstract void OnReset();
}

/// <summary>diffusers' LMSDiscreteScheduler: linear multistep of order up to 4 on the ODE derivative.</summary>
public sealed class LmsScheduler(SchedulerOptions options) : SigmaScheduler(options)
{
    private const int MaxOrder = 4;
    private readonly List<double[]> derivatives = [];
    private readonly double[] coefficients = new double[MaxOrder];
    private double[][] pool = [];
    private int next;

    protected override void OnReset()
    {
        derivatives.Clear();
        next = 0;
    }

    public override void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample)
    {
        var size = sample.Length;
        if (pool.Length == 0 || pool[0].Length != size)
        {
            pool = Enumerable.Range(0, MaxOrder + 1).Select(_ => new double[size]).ToArray();
            derivatives.Clear();
        }

        // With epsilon prediction the derivative (x - x0) / σ is the model output itself.
        var derivative = pool[next];
        next = (next + 1) % pool.Length;
        modelOutput.CopyTo(derivative);
        derivatives.Add(derivative);
        if (derivatives.Count > MaxOrder)
        {
            derivatives.RemoveAt(0);
        }

        var order = Math.Min(stepIndex + 1, MaxOrder);
        for (var k = 0; k < order; k++)
        {
            coefficients[k] = Coefficient(order, stepIndex, k);
        }

        for (var k = 0; k < order; k++)
        {
            var c = coefficients[k];
            var d = derivatives[derivatives.Count - 1 - k];
            for (var j = 0; j < sample.Length; j++)
            {
                sample[j] += c * d[j];
            }
        }
    }

    /// <summary>∫ from σ_t to σ_{t+1} of the Lagrange basis polynomial of node <paramref name="current"/> over σ_t … σ_{t-order+1}.</summary>
    public double Coefficient(int order, int t, int current)
    {
        var s = SigmaArray;
        double Basis(double tau)
        {
            var product = 1.0;
            for (var k = 0; k < order; k++)
            {
                if (k != current)
                {
                    product *= (tau - s[t - k]) / (s[t - current] - s[t - k]);
                }
            }

            return product;
        }

        return Quadrature.Integrate(Basis, s[t], s[t + 1]);
    }
}

/// <summary>diffusers' EulerDiscreteScheduler (s_churn = 0, epsilon prediction).</summary>
public sealed class EulerScheduler(SchedulerOptions options) : SigmaScheduler(options)
{
    protected override void OnReset()
    {
    }

    public override void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample)
    {
        var dt = SigmaArray[stepIndex + 1] - SigmaArray[stepIndex];
        for (var j = 0; j < sample.Length; j++)
        {
            sample[j] += modelOutput[j] * dt;
        }
    }
}

/// <summary>diffusers' EulerAncestralDiscreteScheduler; the added noise comes from <see cref="SeededGaussian"/>.</summary>
public sealed class EulerAncestralScheduler(SchedulerOptions options) : SigmaScheduler(options)
{
    private SeededGaussian noise = new(options.Seed);

    protected override void OnReset() => noise = new SeededGaussian(Options.Seed);

    public override void Step(int stepIndex, ReadOnlySpan<double> modelOutput, Span<double> sample)
    {
        var from = SigmaArray[stepIndex];
        var to = SigmaArray[stepIndex + 1];
        var up = Math.Sqrt(to * to * ((from * from) - (to * to)) / (from * from));
        var down = Math.Sqrt((to * to) - (up * up));
        var dt = down - from;
        for (var j = 0; j < sample.Length; j++)
        {
            sample[j] += (modelOutput[j] * dt) + (noise.NextGaussian() * up);
        }
    }
}
