using System.Text.Json;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Validation.Tests.Schedulers;

/// <summary>The diffusers v0.2.4 schedules of the article, as recorded in the denoise_*/loop.json fixtures.</summary>
public sealed class V024ScheduleTests
{
    private static JsonElement Loop(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Dir("tiny_unet_opset12_fp32"), "denoise_" + name, "loop.json"))).RootElement;

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    [Theory]
    [InlineData("lms", SchedulerKind.Lms)]
    [InlineData("pndm", SchedulerKind.Pndm)]
    [InlineData("ddim", SchedulerKind.Ddim)]
    public void Reproduces_the_recorded_timesteps(string name, SchedulerKind kind)
    {
        var loop = Loop(name);
        var scheduler = SchedulerFactory.Create(new SchedulerOptions { Kind = kind, Semantics = SchedulerSemantics.V024 });
        scheduler.SetTimesteps(loop.GetProperty("steps").GetInt32());

        Assert.Equal(Doubles(loop.GetProperty("timesteps")), scheduler.Timesteps.ToArray());
    }

    [Fact]
    public void Reproduces_the_lms_sigmas_of_numpy_float32_cumprod()
    {
        var loop = Loop("lms");
        var scheduler = SchedulerFactory.Create(new SchedulerOptions { Kind = SchedulerKind.Lms, Semantics = SchedulerSemantics.V024 });
        scheduler.SetTimesteps(loop.GetProperty("steps").GetInt32());
        var expected = Doubles(loop.GetProperty("sigmas"));

        Assert.Equal(expected.Length, scheduler.Sigmas.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - scheduler.Sigmas[i]) <= 1e-9 * expected[i], $"sigma {i}: expected {expected[i]:R}, got {scheduler.Sigmas[i]:R}");
        }

        Assert.Equal(expected[0], scheduler.InitNoiseSigma, 1e-12);
    }

    [Fact]
    public void Current_and_v024_lms_schedules_differ_by_their_cumprod_precision()
    {
        var old = SchedulerFactory.Create(new SchedulerOptions { Kind = SchedulerKind.Lms, Semantics = SchedulerSemantics.V024 });
        var now = SchedulerFactory.Create(new SchedulerOptions { Kind = SchedulerKind.Lms, Semantics = SchedulerSemantics.Current });
        old.SetTimesteps(10);
        now.SetTimesteps(10);

        Assert.NotEqual(old.Sigmas[0], now.Sigmas[0]);
        Assert.Equal(old.Sigmas[0], now.Sigmas[0], 1e-4);
    }

    [Fact]
    public void Schedulers_that_v024_lacked_are_refused_under_v024()
    {
        Assert.Throws<ArgumentException>(() => SchedulerFactory.Create(new SchedulerOptions { Kind = SchedulerKind.Euler, Semantics = SchedulerSemantics.V024 }));
        Assert.Throws<ArgumentException>(() => SchedulerFactory.Create(new SchedulerOptions { Kind = SchedulerKind.DpmSolverPlusPlus2M, Semantics = SchedulerSemantics.V024 }));
    }
}

/// <summary>diffusers' <c>timestep_spacing</c> and <c>steps_offset</c>, beyond the tabulated defaults.</summary>
public sealed class TimestepSpacingTests
{
    private static double[] Timesteps(SchedulerKind kind, TimestepSpacing spacing, int steps, int offset = 0)
    {
        var scheduler = SchedulerFactory.Create(new SchedulerOptions { Kind = kind, TimestepSpacing = spacing, StepsOffset = offset });
        scheduler.SetTimesteps(steps);
        return [.. scheduler.Timesteps];
    }

    [Theory]
    [InlineData(SchedulerKind.Ddim)]
    [InlineData(SchedulerKind.Euler)]
    [InlineData(SchedulerKind.DpmSolverPlusPlus2M)]
    public void Trailing_spacing_ends_at_the_last_training_step(SchedulerKind kind)
    {
        // round(arange(1000, 0, -1000/10)) - 1
        Assert.Equal([999, 899, 799, 699, 599, 499, 399, 299, 199, 99], Timesteps(kind, TimestepSpacing.Trailing, 10));
        // 1000/3 is fractional: 1000, 666.67, 333.33 round to 1000, 667, 333
        Assert.Equal([999, 666, 332], Timesteps(kind, TimestepSpacing.Trailing, 3));
    }

    [Fact]
    public void Leading_spacing_adds_the_steps_offset()
    {
        Assert.Equal([901, 801, 701, 601, 501, 401, 301, 201, 101, 1], Timesteps(SchedulerKind.Euler, TimestepSpacing.Leading, 10, offset: 1));
        // DPM-Solver spaces n + 1 points and drops the last: 1000 // 11 = 90
        Assert.Equal([900, 810, 720, 630, 540, 450, 360, 270, 180, 90], Timesteps(SchedulerKind.DpmSolverPlusPlus2M, TimestepSpacing.Leading, 10));
    }

    [Fact]
    public void Leading_spacing_of_sigma_schedulers_scales_init_noise_by_sqrt_sigma_squared_plus_one()
    {
        var leading = SchedulerFactory.Create(new SchedulerOptions { Kind = SchedulerKind.Euler, TimestepSpacing = TimestepSpacing.Leading, StepsOffset = 1 });
        leading.SetTimesteps(10);

        var max = leading.Sigmas.Max();
        Assert.Equal(Math.Sqrt((max * max) + 1), leading.InitNoiseSigma, 1e-12);
    }
}
