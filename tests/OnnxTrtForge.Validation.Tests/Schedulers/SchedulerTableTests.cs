using System.Text.Json;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Validation.Tests.Schedulers;

/// <summary>Today's diffusers schedulers, as tabulated in tests/fixtures/scheduler_tables.json.</summary>
public sealed class SchedulerTableTests
{
    private static readonly JsonElement Root = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Root, "scheduler_tables.json"))).RootElement;

    public static TheoryData<string> Tables()
    {
        var data = new TheoryData<string>();
        foreach (var table in Root.GetProperty("tables").EnumerateObject())
        {
            data.Add(table.Name);
        }

        return data;
    }

    internal static SchedulerOptions OptionsFor(JsonElement table)
    {
        var kind = table.GetProperty("cls").GetString() switch
        {
            "EulerDiscreteScheduler" => SchedulerKind.Euler,
            "EulerAncestralDiscreteScheduler" => SchedulerKind.EulerAncestral,
            "DPMSolverMultistepScheduler" => SchedulerKind.DpmSolverPlusPlus2M,
            "DDIMScheduler" => SchedulerKind.Ddim,
            "LMSDiscreteScheduler" => SchedulerKind.Lms,
            var other => throw new InvalidOperationException("unknown scheduler class " + other),
        };
        var options = new SchedulerOptions { Kind = kind, Semantics = SchedulerSemantics.Current };
        foreach (var kwarg in table.GetProperty("kwargs").EnumerateObject())
        {
            options = kwarg.Name switch
            {
                "use_karras_sigmas" => options with { UseKarrasSigmas = kwarg.Value.GetBoolean() },
                "steps_offset" => options with { StepsOffset = kwarg.Value.GetInt32() },
                "set_alpha_to_one" => options with { SetAlphaToOne = kwarg.Value.GetBoolean() },
                "clip_sample" => kwarg.Value.GetBoolean() ? throw new InvalidOperationException("clip_sample is not implemented") : options,
                _ => throw new InvalidOperationException("unknown kwarg " + kwarg.Name),
            };
        }

        return options;
    }

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    [Theory]
    [MemberData(nameof(Tables))]
    public void Reproduces_timesteps_sigmas_and_init_noise_sigma(string name)
    {
        var table = Root.GetProperty("tables").GetProperty(name);
        var scheduler = SchedulerFactory.Create(OptionsFor(table));
        scheduler.SetTimesteps(table.GetProperty("steps").GetInt32());

        // Integer timesteps must match exactly. Karras timesteps of Euler are fractional (interpolated in float32
        // log-sigma): those may differ by float32 rounding of the logarithm, so they get 1e-6 relative.
        var expectedTimesteps = Doubles(table.GetProperty("timesteps"));
        Assert.Equal(expectedTimesteps.Length, scheduler.Timesteps.Count);
        for (var i = 0; i < expectedTimesteps.Length; i++)
        {
            var expected = expectedTimesteps[i];
            var actual = (double)(float)scheduler.Timesteps[i];
            var tolerance = expected == Math.Round(expected) ? 0 : 1e-6 * expected;
            Assert.True(Math.Abs(expected - actual) <= tolerance, $"timestep {i}: expected {expected:R}, got {actual:R}");
        }

        Assert.Equal(table.GetProperty("init_noise_sigma").GetDouble(), scheduler.InitNoiseSigma, 1e-6 * scheduler.InitNoiseSigma);
        if (table.TryGetProperty("sigmas", out var sigmasJson))
        {
            var expected = Doubles(sigmasJson);
            Assert.Equal(expected.Length, scheduler.Sigmas.Count);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - scheduler.Sigmas[i]) <= 1e-6 * Math.Abs(expected[i]), $"sigma {i}: expected {expected[i]:R}, got {scheduler.Sigmas[i]:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public void Reproduces_the_synthetic_loop(string name)
    {
        var table = Root.GetProperty("tables").GetProperty(name);
        if (!table.TryGetProperty("synthetic_final_sum", out var sumJson))
        {
            return; // stochastic (Euler ancestral): covered by the seeded-noise tests
        }

        var final = RunSynthetic(table);
        var expectedSum = sumJson.GetDouble();
        Assert.True(Math.Abs(final.Sum() - expectedSum) <= 1e-5 * Math.Abs(expectedSum), $"sum: expected {expectedSum:R}, got {final.Sum():R}");
        var first8 = Doubles(table.GetProperty("synthetic_final_first8"));
        for (var i = 0; i < 8; i++)
        {
            Assert.True(Math.Abs(final[i] - first8[i]) <= 1e-5 * Math.Max(1, Math.Abs(first8[i])), $"x[{i}]: expected {first8[i]:R}, got {final[i]:R}");
        }
    }

    internal static double[] RunSynthetic(JsonElement table, SchedulerOptions? overrideOptions = null)
    {
        var scheduler = SchedulerFactory.Create(overrideOptions ?? OptionsFor(table));
        scheduler.SetTimesteps(table.GetProperty("steps").GetInt32());
        var x = Doubles(Root.GetProperty("x0")).Select(v => v * scheduler.InitNoiseSigma).ToArray();
        var ramp = NoiseSchedule.NumpyLinspace(-1, 1, x.Length);
        var output = new double[x.Length];
        for (var i = 0; i < scheduler.Timesteps.Count; i++)
        {
            var scale = scheduler.InputScale(i);
            for (var j = 0; j < x.Length; j++)
            {
                output[j] = (0.1 * scale * x[j]) + (0.05 * ramp[j]);
            }

            scheduler.Step(i, output, x);
        }

        return x;
    }

    [Fact]
    public void Euler_ancestral_noise_is_reproducible_per_seed_and_differs_between_seeds()
    {
        var table = Root.GetProperty("tables").GetProperty("euler_ancestral_10");
        var options = OptionsFor(table);
        var a = RunSynthetic(table, options with { Seed = 7 });
        var b = RunSynthetic(table, options with { Seed = 7 });
        var c = RunSynthetic(table, options with { Seed = 8 });
        var deterministic = RunSynthetic(table, options with { Kind = SchedulerKind.Euler });

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a.Zip(deterministic).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "ancestral steps must add noise");
    }

    [Fact]
    public void Ddim_with_eta_adds_seeded_noise_and_eta_zero_is_deterministic()
    {
        var table = Root.GetProperty("tables").GetProperty("ddim_leading_10");
        var options = OptionsFor(table);
        var plain = RunSynthetic(table, options);
        var noisy1 = RunSynthetic(table, options with { Eta = 1.0, Seed = 3 });
        var noisy2 = RunSynthetic(table, options with { Eta = 1.0, Seed = 3 });
        var plainSeeded = RunSynthetic(table, options with { Seed = 99 });

        Assert.Equal(noisy1, noisy2);
        Assert.Equal(plain, plainSeeded);
        Assert.True(plain.Zip(noisy1).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
    }

    [Fact]
    public void Seeded_gaussian_has_zero_mean_and_unit_variance()
    {
        var values = new double[200_000];
        new SeededGaussian(42).Fill(values);
        var mean = values.Average();
        var variance = values.Select(v => (v - mean) * (v - mean)).Average();

        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
    }

    [Fact]
    public void Quadrature_integrates_smooth_functions_to_1e_10()
    {
        Assert.Equal(2.0, Quadrature.Integrate(Math.Sin, 0, Math.PI), 1e-12);
        Assert.Equal(Math.Log(14.6 / 0.03), Quadrature.Integrate(x => 1 / x, 0.03, 14.6), 1e-10);
        Assert.Equal(-(Math.Pow(3, 4) - 1) / 4, Quadrature.Integrate(x => x * x * x, 3, 1), 1e-12);
    }
}
