using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Core.Tests;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Benchmarks.Tests;

/// <summary>
/// The full-size rebuild on a shrunk case: a tiny exported UNet is split into a graph-only file and
/// weight statistics, exactly like the full-size fixtures in tools/full, then rebuilt from them.
/// </summary>
public sealed class FullSizeModelTests
{
    /// <summary>Saves the fixture with external data, writes its statistics, and copies its graph alone to graph/.</summary>
    private static (string Graph, string Stats, string Original) GraphOnly(TempDir temp, string fixture)
    {
        using (var model = OnnxReader.Load(Fixtures.Model(fixture)))
        {
            OnnxWriter.Save(model, temp.File("original/unet.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Always });
        }

        var stats = WeightStatsFile.Compute(temp.File("original/unet.onnx"));
        stats.Save(temp.File("unet.stats.json"));
        Directory.CreateDirectory(temp.File("graph"));
        File.Copy(temp.File("original/unet.onnx"), temp.File("graph/unet.onnx"));
        return (temp.File("graph/unet.onnx"), temp.File("unet.stats.json"), temp.File("original/unet.onnx"));
    }

    [Theory]
    [InlineData("tiny_unet_opset12_fp32")]
    [InlineData("tiny_unet_opset12_fp16")]
    public void A_model_rebuilt_from_its_graph_and_statistics_loads_in_forge_and_runs_in_onnx_runtime_with_finite_outputs(string fixture)
    {
        using var temp = Fixtures.Temp();
        var (graph, statsPath, original) = GraphOnly(temp, fixture);
        var stats = WeightStatsFile.Load(statsPath);

        var result = FullSizeModel.Rebuild(graph, statsPath, temp.File("rebuilt"), seed: 1);

        Assert.Equal(new FileInfo(original + ".data").Length, new FileInfo(Assert.Single(result.WeightFiles)).Length);
        Assert.Equal(stats.Tensors.Count, result.Tensors);
        Assert.Contains(stats.Tensors.Values, t => t.Type == (fixture.EndsWith("fp16", StringComparison.Ordinal) ? DataType.Float16 : DataType.Float));
        using (var rebuilt = OnnxReader.Load(result.ModelPath))
        {
            var again = WeightStatsFile.Compute(result.ModelPath);
            foreach (var (name, want) in stats.Tensors)
            {
                var got = again.Tensors[name];
                Assert.Equal((want.Type, want.Offset, want.Length), (got.Type, got.Offset, got.Length));
                Assert.InRange(got.Min, want.Min - Ulp(want), want.Max + Ulp(want));
                Assert.InRange(got.Max, want.Min - Ulp(want), want.Max + Ulp(want));
                var elements = want.Length / want.Type.ElementSize();
                if (elements >= 4096 && want.Std > 0)
                {
                    // a uniform of the same mean and std, clipped to the real range: moments close to the real ones
                    Assert.InRange(got.Mean, want.Mean - (0.1 * want.Std), want.Mean + (0.1 * want.Std));
                    Assert.InRange(got.Std, 0.8 * want.Std, 1.1 * want.Std);
                }
            }
        }

        var outputs = OrtRunner.Run(result.ModelPath, OrtRunner.TestInputs(Fixtures.Dir(fixture)));
        Assert.False(OrtRunner.HasNonFinite(outputs[0]));
        Assert.Equal(OrtRunner.TestOutput(Fixtures.Dir(fixture)).Dims, outputs[0].Dims);
    }

    private static double Ulp(TensorStats t) => t.Type == DataType.Float16 ? 1e-3 * Math.Max(1, Math.Abs(t.Max)) : 1e-6 * Math.Max(1, Math.Abs(t.Max));

    [Fact]
    public void One_seed_gives_the_same_weights_every_time_and_another_seed_other_weights()
    {
        using var temp = Fixtures.Temp();
        var (graph, stats, _) = GraphOnly(temp, "tiny_vae_decoder_opset12_fp32");

        var a = FullSizeModel.Rebuild(graph, stats, temp.File("a"), seed: 5);
        var b = FullSizeModel.Rebuild(graph, stats, temp.File("b"), seed: 5);
        var c = FullSizeModel.Rebuild(graph, stats, temp.File("c"), seed: 6);

        Assert.Equal(File.ReadAllBytes(a.WeightFiles[0]), File.ReadAllBytes(b.WeightFiles[0]));
        Assert.NotEqual(File.ReadAllBytes(a.WeightFiles[0]), File.ReadAllBytes(c.WeightFiles[0]));
    }

    [Fact]
    public void Statistics_that_disagree_with_the_graph_are_refused_naming_the_tensor_and_nothing_is_written()
    {
        using var temp = Fixtures.Temp();
        var (graph, statsPath, _) = GraphOnly(temp, "tiny_vae_decoder_opset12_fp32");
        var stats = WeightStatsFile.Load(statsPath);
        var (name, first) = stats.Tensors.First();
        var tensors = stats.Tensors.ToDictionary(p => p.Key, p => p.Value);
        tensors[name] = first with { Offset = first.Offset + 4096 };
        (stats with { Tensors = tensors }).Save(temp.File("bad.stats.json"));

        var error = Assert.Throws<ForgeInputException>(() => FullSizeModel.Rebuild(graph, temp.File("bad.stats.json"), temp.File("out")));

        Assert.Contains($"tensor '{name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("bad.stats.json says", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.File("out")) && Directory.EnumerateFiles(temp.File("out")).Any());
    }
}
