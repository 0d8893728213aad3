using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Validation.Tests;

/// <summary>The <c>forge denoise</c> library entry point: files in, TensorProtos out.</summary>
public sealed class DenoiserTests
{
    [Fact]
    public async Task Writes_final_latents_and_trajectory_that_match_the_recording()
    {
        using var temp = Fixtures.Temp();
        var request = new DenoiseRequest(Fixtures.Model("tiny_unet_opset12_fp32"), DenoiseLoopTests.FixtureSpec("pndm", trajectory: false), new RuntimeOptions(), temp.File("final.pb"))
        {
            TrajectoryPath = temp.File("trajectory.pb"),
        };
        await Denoiser.RunAsync(request, null, CancellationToken.None);

        var written = OnnxReader.LoadTensor(temp.File("final.pb"));
        var expected = OnnxReader.LoadTensor(Path.Combine(DenoiseLoopTests.LoopDir("pndm"), "latents_final.pb"));
        Assert.Equal(DataType.Float, written.Type);
        Assert.True(TensorComparison.Compare(expected, written).RelativeL2 <= 1e-4);
        var trajectory = OnnxReader.LoadTensor(temp.File("trajectory.pb"));
        Assert.Equal(OnnxReader.LoadTensor(Path.Combine(DenoiseLoopTests.LoopDir("pndm"), "latents_trajectory.pb")).Dims, trajectory.Dims);
        Assert.Empty(Directory.GetFiles(temp.Path, ".*tmp*"));
    }

    [Fact]
    public async Task Seeded_runs_take_the_model_shape_and_repeat_exactly()
    {
        var spec = new DenoiseSpec { Scheduler = new SchedulerOptions { Kind = SchedulerKind.EulerAncestral }, Steps = 3, Seed = 5 };
        using var unet = new OnnxNoisePredictor(Fixtures.Model("tiny_unet_opset12_fp16"), new RuntimeOptions());
        var a = await DenoiseLoop.RunAsync(unet, spec, null, CancellationToken.None);
        var b = await DenoiseLoop.RunAsync(unet, spec, null, CancellationToken.None);
        var c = await DenoiseLoop.RunAsync(unet, spec with { Seed = 6 }, null, CancellationToken.None);

        Assert.Equal([1L, 4, 16, 16], a.FinalLatents.Dims);
        Assert.Equal(a.FinalLatents.ToDoubleArray(), b.FinalLatents.ToDoubleArray());
        Assert.NotEqual(a.FinalLatents.ToDoubleArray(), c.FinalLatents.ToDoubleArray());
        Assert.Equal(0, TensorComparison.NonFinite(a.FinalLatents.ToDoubleArray()).Count);
    }

    [Fact]
    public async Task Feeds_an_int64_timestep_named_timestep_where_the_model_declares_one()
    {
        // Re-declare the fp32 fixture's timestep as int64 "timestep" followed by a Cast, as some exporters do.
        using var temp = Fixtures.Temp();
        var path = temp.File("int64_timestep.onnx");
        using (var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp32")))
        {
            var graph = model.Graph;
            var old = graph.Inputs[1];
            var timestep = graph.AddInput("timestep", TypeInfo.OfTensor(DataType.Int64, [1L]));
            graph.Inputs.Remove(timestep);
            graph.Inputs.Insert(0, timestep); // first: found by its name, not its position
            var cast = graph.Create("Cast", [timestep], attributes: [OnnxTrtForge.Core.Ir.Attribute.Int("to", (long)DataType.Float)], anchor: graph.Nodes[0]);
            old.ReplaceAllUsesWith(cast.Outputs[0], graph);
            graph.Inputs.Remove(old);
            OnnxWriter.Save(model, path);
        }

        using var unet = new OnnxNoisePredictor(path, new RuntimeOptions());
        Assert.Equal("timestep", unet.Signature.Timestep.Name);
        Assert.Equal(DataType.Int64, unet.Signature.Timestep.Type);
        Assert.Equal("input_0", unet.Signature.Sample.Name);
        var result = await DenoiseLoop.RunAsync(unet, DenoiseLoopTests.FixtureSpec("ddim", trajectory: false), null, CancellationToken.None);

        // DDIM's timesteps are integers, so the int64 model sees the same values as the float one did.
        var expected = OnnxReader.LoadTensor(Path.Combine(DenoiseLoopTests.LoopDir("ddim"), "latents_final.pb"));
        Assert.True(TensorComparison.Compare(expected, result.FinalLatents).RelativeL2 <= 1e-4);
    }

    [Fact]
    public async Task Embeddings_of_the_wrong_width_are_refused_with_one_line()
    {
        var spec = DenoiseLoopTests.FixtureSpec("ddim", trajectory: false) with { Embeddings = Tensor.FromFloats([2, 77, 16], new float[2 * 77 * 16]) };
        using var unet = new OnnxNoisePredictor(Fixtures.Model("tiny_unet_opset12_fp32"), new RuntimeOptions());
        var e = await Assert.ThrowsAsync<ForgeInputException>(() => DenoiseLoop.RunAsync(unet, spec, null, CancellationToken.None));

        Assert.Contains("embeddings [2,77,16]", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task A_candidate_that_cannot_take_the_loop_inputs_fails_with_one_line_naming_it()
    {
        // The VAE decoder is no UNet: the signature check refuses it before anything runs.
        var request = new ValidationRequest
        {
            ReferencePath = Fixtures.Model("tiny_unet_opset12_fp32"),
            CandidatePath = Fixtures.Model("tiny_vae_decoder_opset12_fp32"),
            Spec = DenoiseLoopTests.FixtureSpec("ddim", trajectory: false),
        };

        var e = await Assert.ThrowsAsync<ForgeInputException>(() => LoopValidation.RunAsync(request, null, CancellationToken.None));
        Assert.Contains("tiny_vae_decoder_opset12_fp32", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Seeded_latents_and_embeddings_of_a_model_with_open_dims_take_stable_diffusion_sizes()
    {
        var signature = new UnetSignature(
            new TensorSlot("sample", DataType.Float16, [-1, -1, -1, -1]),
            new TensorSlot("timestep", DataType.Int64, [-1]),
            new TensorSlot("encoder_hidden_states", DataType.Float16, [-1, -1, 768]),
            new TensorSlot("out_sample", DataType.Float16, [-1, -1, -1, -1]));

        var start = DenoiseStart.Resolve(signature, new DenoiseSpec { Scheduler = new SchedulerOptions(), Seed = 1 });

        Assert.Equal([1L, 4, 64, 64], start.LatentDims);
        Assert.Equal([2L, 77, 768], start.EmbeddingDims);
        Assert.True(start.Guided);
        Assert.Equal(4 * 64 * 64, start.Latents.Length);
    }

    [Fact]
    public void Cuda_either_loads_or_fails_with_one_line_saying_why()
    {
        try
        {
            using var unet = new OnnxNoisePredictor(Fixtures.Model("tiny_unet_opset12_fp32"), new RuntimeOptions { Device = ExecutionDevice.Cuda });
        }
        catch (ForgeInputException e)
        {
            Assert.StartsWith("--device cuda: ONNX Runtime's CUDA provider did not load: ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }
}
