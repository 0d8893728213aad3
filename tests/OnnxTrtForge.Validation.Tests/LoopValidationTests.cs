using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using BigGustave;
using Xunit.Abstractions;

namespace OnnxTrtForge.Validation.Tests;

/// <summary><c>forge validate</c>: the same loop over a reference and a candidate, every step compared.</summary>
public sealed class LoopValidationTests(ITestOutputHelper output)
{
    private static ValidationRequest Request(string reference, string candidate, string scheduler = "lms", int? steps = null)
    {
        var spec = DenoiseLoopTests.FixtureSpec(scheduler, trajectory: false);
        return new ValidationRequest { ReferencePath = reference, CandidatePath = candidate, Spec = steps is { } n ? spec with { Steps = n } : spec };
    }

    /// <summary>Loads the fp32 fixture, changes the initializer of <paramref name="match"/> and saves the variant.</summary>
    private static string Variant(TempDir temp, string name, Func<string, bool> match, Func<int, float, float> change)
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp32"));
        var changed = 0;
        foreach (var value in model.Graph.Initializers.Where(v => match(v.Name)).ToList())
        {
            var tensor = value.Initializer!;
            var values = tensor.ToDoubleArray().Select((v, i) => change(i, (float)v)).ToArray();
            model.Graph.SetInitializer(value, Tensor.FromFloats(tensor.Dims, values));
            changed++;
        }

        Assert.True(changed > 0, "no initializer matched");
        var path = temp.File(name + ".onnx");
        OnnxWriter.Save(model, path);
        return path;
    }

    [Fact]
    public async Task Passes_the_fixture_against_itself_re_saved()
    {
        using var temp = Fixtures.Temp();
        var resaved = temp.File("resaved.onnx");
        using (var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp32")))
        {
            OnnxWriter.Save(model, resaved);
        }

        var result = await LoopValidation.RunAsync(Request(Fixtures.Model("tiny_unet_opset12_fp32"), resaved), null, CancellationToken.None);

        Assert.True(result.Passed, result.Summary());
        Assert.Equal(8, result.StepComparisons.Count);
        Assert.All(result.StepComparisons, s => Assert.True(s.Noise.RelativeL2 <= 1e-6 && s.Noise.Cosine > 0.999999));
        output.WriteLine($"re-saved: {result.Summary()}; max noise max-abs {result.MaxNoiseAbsError:E3}");
    }

    [Fact]
    public async Task Passes_the_fixture_against_its_default_optimization()
    {
        using var temp = Fixtures.Temp();
        var optimized = temp.File("optimized.onnx");
        using (var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp32")))
        {
            var report = OnnxTrtForge.Core.Passes.Optimizer.Optimize(model);
            Assert.True(report.After.Nodes < report.Before.Nodes, "the optimizer should have simplified the export");
            OnnxWriter.Save(model, optimized);
        }

        var result = await LoopValidation.RunAsync(Request(Fixtures.Model("tiny_unet_opset12_fp32"), optimized), null, CancellationToken.None);

        Assert.True(result.Passed, result.Summary());
        output.WriteLine($"optimized: {result.Summary()}; max noise max-abs {result.MaxNoiseAbsError:E3}");
    }

    [Fact]
    public async Task Fails_naming_the_first_step_when_conv_out_weights_are_scaled_by_1_01()
    {
        using var temp = Fixtures.Temp();
        var scaled = Variant(temp, "scaled", n => n.Contains("conv_out", StringComparison.Ordinal) && n.EndsWith("weight", StringComparison.Ordinal), (_, v) => v * 1.01f);

        var result = await LoopValidation.RunAsync(Request(Fixtures.Model("tiny_unet_opset12_fp32"), scaled, steps: 3), null, CancellationToken.None);

        Assert.False(result.Passed);
        Assert.Null(result.NonFinite);
        Assert.Equal(0, result.FirstStepOutOfTolerance);
        Assert.StartsWith("out of tolerance from step 0 (t=999)", result.Summary());
        Assert.Equal(3, result.StepComparisons.Count); // the loop still runs to the end to show the drift
        output.WriteLine($"conv_out x1.01: {result.Summary()}; per-step noise rel L2 {string.Join(", ", result.StepComparisons.Select(s => s.Noise.RelativeL2.ToString("E2")))}; final latents rel L2 {result.FinalLatents!.RelativeL2:E3}");
    }

    [Fact]
    public async Task Catches_nan_at_the_first_step_and_tensor_where_it_appears()
    {
        using var temp = Fixtures.Temp();
        var broken = Variant(temp, "nan", n => n.Contains("conv_out", StringComparison.Ordinal) && n.EndsWith("bias", StringComparison.Ordinal), (i, v) => i == 2 ? float.NaN : v);

        var result = await LoopValidation.RunAsync(Request(Fixtures.Model("tiny_unet_opset12_fp32"), broken, "ddim"), null, CancellationToken.None);

        Assert.False(result.Passed);
        Assert.NotNull(result.NonFinite);
        Assert.Equal(0, result.NonFinite.Step);
        Assert.Equal("candidate", result.NonFinite.Model);
        Assert.Equal("noise prediction", result.NonFinite.Tensor);
        Assert.Single(result.StepComparisons);
        Assert.Contains("NaN/Inf in the candidate noise prediction at step 0 (t=876)", result.Summary());
    }

    [Fact]
    public async Task Reports_the_drift_of_the_fp16_fixture_against_the_fp32_one_without_nan()
    {
        var result = await LoopValidation.RunAsync(Request(Fixtures.Model("tiny_unet_opset12_fp32"), Fixtures.Model("tiny_unet_opset12_fp16")), null, CancellationToken.None);

        Assert.Null(result.NonFinite);
        Assert.Equal(8, result.StepComparisons.Count);
        Assert.All(result.StepComparisons, s =>
        {
            Assert.True(double.IsFinite(s.Noise.RelativeL2) && s.Noise.RelativeL2 > 0);
            Assert.True(s.Noise.Cosine > 0.99, $"step {s.Step}: cosine {s.Noise.Cosine}");
        });
        Assert.True(result.FinalLatents!.RelativeL2 > 0);
        output.WriteLine($"fp16 vs fp32: {result.Summary()}; per-step noise rel L2 {string.Join(", ", result.StepComparisons.Select(s => s.Noise.RelativeL2.ToString("E2")))}; latents drift {string.Join(", ", result.StepComparisons.Select(s => s.Latents.RelativeL2.ToString("E2")))}");
    }

    [Fact]
    public async Task Writes_json_and_markdown_reports()
    {
        using var temp = Fixtures.Temp();
        var result = await LoopValidation.RunAsync(Request(Fixtures.Model("tiny_unet_opset12_fp32"), Fixtures.Model("tiny_unet_opset12_fp16"), "pndm", steps: 3) with { Tolerance = new ValidationTolerance { NoiseRelativeL2 = 1e-9 } }, null, CancellationToken.None);
        ValidationReport.Write(temp.File("r.json"), result);
        ValidationReport.Write(temp.File("r.md"), result);

        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(temp.File("r.json")));
        Assert.False(json.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal(4, json.RootElement.GetProperty("result").GetProperty("stepComparisons").GetArrayLength()); // PLMS repeats its second timestep
        var md = File.ReadAllText(temp.File("r.md"));
        Assert.Contains("# forge validate: FAILED", md);
        Assert.Contains("| 3 | 1 |", md);
    }

    [Fact]
    public async Task Decodes_both_latents_into_a_loadable_png_with_psnr()
    {
        using var temp = Fixtures.Temp();
        var scaled = Variant(temp, "scaled", n => n.Contains("conv_out", StringComparison.Ordinal) && n.EndsWith("weight", StringComparison.Ordinal), (_, v) => v * 1.01f);

        // the 16x16-latent decoder shipped beside the tiny UNets decodes their final latents as the loop made them
        var decoder = Fixtures.Model("tiny_vae_decoder16_opset12_fp32");
        var reference = await FinalLatents(Fixtures.Model("tiny_unet_opset12_fp32"));
        var candidate = await FinalLatents(scaled);
        var image = LatentImages.DecodeAndCompare(decoder, new RuntimeOptions(), reference, candidate, temp.File("cmp.png"));
        var same = LatentImages.DecodeAndCompare(decoder, new RuntimeOptions(), reference, reference, temp.File("same.png"));

        var png = Png.Open(File.ReadAllBytes(temp.File("cmp.png")));
        Assert.Equal(3 * 128, png.Width);
        Assert.Equal(128, png.Height);
        Assert.True(double.IsFinite(image.Psnr) && image.Psnr > 20, $"PSNR {image.Psnr}");
        Assert.True(double.IsPositiveInfinity(same.Psnr));
        Assert.Equal(new Pixel(0, 0, 0), Png.Open(File.ReadAllBytes(temp.File("same.png"))).GetPixel(2 * 128 + 5, 5));
        output.WriteLine($"conv_out x1.01 image {image.Width}x{image.Height}: PSNR {image.Psnr:F2} dB, max pixel error {image.Pixels.MaxAbsError:F4}");
    }

    [Fact]
    public async Task The_validate_loop_writes_the_comparison_picture_with_the_shipped_decoder()
    {
        using var temp = Fixtures.Temp();
        var request = Request(Fixtures.Model("tiny_unet_opset12_fp32"), Fixtures.Model("tiny_unet_opset12_fp16"), steps: 2) with
        {
            DecoderPath = Fixtures.Model("tiny_vae_decoder16_opset12_fp32"),
            ImagePath = temp.File("compare.png"),
            Tolerance = new ValidationTolerance { NoiseRelativeL2 = 2e-2, LatentRelativeL2 = 2e-2 },
        };

        var result = await LoopValidation.RunAsync(request, null, CancellationToken.None);

        Assert.True(result.Passed);
        var png = Png.Open(File.ReadAllBytes(temp.File("compare.png")));
        Assert.Equal((3 * 128, 128), (png.Width, png.Height));
    }

    [Fact]
    public async Task A_decoder_for_other_latents_is_refused_with_one_line()
    {
        using var temp = Fixtures.Temp();
        var request = Request(Fixtures.Model("tiny_unet_opset12_fp32"), Fixtures.Model("tiny_unet_opset12_fp32"), steps: 1) with
        {
            DecoderPath = Fixtures.Model("tiny_vae_decoder_opset12_fp32"),
            ImagePath = temp.File("x.png"),
        };

        var e = await Assert.ThrowsAsync<ForgeInputException>(() => LoopValidation.RunAsync(request, null, CancellationToken.None));
        Assert.Contains("decoder input", e.Message);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    private static async Task<Tensor> FinalLatents(string model)
    {
        using var unet = new OnnxNoisePredictor(model, new RuntimeOptions());
        return (await DenoiseLoop.RunAsync(unet, DenoiseLoopTests.FixtureSpec("lms", trajectory: false), null, CancellationToken.None)).FinalLatents;
    }
}
