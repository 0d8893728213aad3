using System.Text.Json;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation.Schedulers;
using Xunit.Abstractions;

namespace OnnxTrtForge.Validation.Tests;

/// <summary>The article's loop on the fp32 fixture against the recorded diffusers v0.2.4 trajectories.</summary>
public sealed class DenoiseLoopTests(ITestOutputHelper output)
{
    internal static string LoopDir(string scheduler) => Path.Combine(Fixtures.Dir("tiny_unet_opset12_fp32"), "denoise_" + scheduler);

    internal static DenoiseSpec FixtureSpec(string scheduler, bool trajectory = true)
    {
        var dir = LoopDir(scheduler);
        var loop = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "loop.json"))).RootElement;
        return new DenoiseSpec
        {
            Scheduler = new SchedulerOptions { Kind = SchedulerOptions.ParseKind(scheduler), Semantics = SchedulerSemantics.V024 },
            Steps = loop.GetProperty("steps").GetInt32(),
            GuidanceScale = loop.GetProperty("guidance_scale").GetDouble(),
            Latents = OnnxReader.LoadTensor(Path.Combine(dir, "latents_init.pb")),
            Embeddings = OnnxReader.LoadTensor(Path.Combine(dir, "text_embeddings.pb")),
            RecordTrajectory = trajectory,
        };
    }

    [Theory]
    [InlineData("lms")]
    [InlineData("pndm")]
    [InlineData("ddim")]
    public async Task Reproduces_the_recorded_final_latents_and_every_step(string scheduler)
    {
        var dir = LoopDir(scheduler);
        using var unet = new OnnxNoisePredictor(Fixtures.Model("tiny_unet_opset12_fp32"), new RuntimeOptions());
        var result = await DenoiseLoop.RunAsync(unet, FixtureSpec(scheduler), null, CancellationToken.None);

        var expectedFinal = OnnxReader.LoadTensor(Path.Combine(dir, "latents_final.pb"));
        var final = TensorComparison.Compare(expectedFinal, result.FinalLatents);
        Assert.Equal(expectedFinal.Dims, result.FinalLatents.Dims);
        Assert.True(final.RelativeL2 <= 1e-4, $"final latents rel L2 {final.RelativeL2:E3}");

        var expectedTrajectory = OnnxReader.LoadTensor(Path.Combine(dir, "latents_trajectory.pb"));
        Assert.Equal(expectedTrajectory.Dims, result.Trajectory!.Dims);
        var steps = (int)expectedTrajectory.Dims[0];
        var per = (int)(expectedTrajectory.ElementCount / steps);
        var expected = expectedTrajectory.ToDoubleArray();
        var actual = result.Trajectory.ToDoubleArray();
        var worst = 0.0;
        for (var s = 0; s < steps; s++)
        {
            var m = TensorComparison.Compare(expected.AsSpan(s * per, per), actual.AsSpan(s * per, per));
            worst = Math.Max(worst, m.RelativeL2);
            Assert.True(m.RelativeL2 <= 1e-4, $"step {s}: rel L2 {m.RelativeL2:E3}");
        }

        output.WriteLine($"{scheduler}: final rel L2 {final.RelativeL2:E3}, max abs {final.MaxAbsError:E3}; worst step rel L2 {worst:E3}");
    }

    [Fact]
    public async Task A_wrong_scheduler_does_not_reproduce_the_recording()
    {
        using var unet = new OnnxNoisePredictor(Fixtures.Model("tiny_unet_opset12_fp32"), new RuntimeOptions());
        var spec = FixtureSpec("ddim", trajectory: false) with { Scheduler = new SchedulerOptions { Kind = SchedulerKind.Pndm, Semantics = SchedulerSemantics.V024 } };
        var result = await DenoiseLoop.RunAsync(unet, spec, null, CancellationToken.None);

        var expected = OnnxReader.LoadTensor(Path.Combine(LoopDir("ddim"), "latents_final.pb"));
        Assert.True(TensorComparison.Compare(expected, result.FinalLatents).RelativeL2 > 1e-3);
    }
}
