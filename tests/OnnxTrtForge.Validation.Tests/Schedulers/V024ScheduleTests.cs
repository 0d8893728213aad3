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
