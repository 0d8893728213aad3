using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>The default pipeline on the real exports: what must be gone, the node budgets of issue 3, and ORT agreement.</summary>
public sealed class OptimizerFixtureTests
{
    [Theory]
    [InlineData("tiny_unet_opset12_fp16_aten", 2200, 2e-3)]
    [InlineData("tiny_unet_opset12_fp16", 2200, 2e-3)]
    [InlineData("tiny_unet_opset12_fp32", 2000, 1e-5)]
    [InlineData("tiny_unet_dynamo18_fp32", 1600, 1e-5)]
    [InlineData("tiny_vae_decoder_opset12_fp32", 216, 1e-5)]
    public void Default_pipeline_leaves_a_valid_smaller_model_that_matches_the_stored_outputs(string fixture, int maxNodes, double tolerance)
    {
        using var model = OnnxReader.Load(Fixtures.Model(fixture));

        var report = Optimizer.Optimize(model);

        var census = model.Graph.OpCensus();
        foreach (var gone in new[] { "org.pytorch.aten::ATen", "Constant", "Identity", "Shape" })
        {
            Assert.False(census.ContainsKey(gone), $"{gone} left: {census.GetValueOrDefault(gone)}");
        }

        Assert.InRange(report.After.Nodes, 1, maxNodes);
        Assert.Equal(census.Values.Sum(), report.After.Nodes);
        Assert.True(report.Passes.Count >= PassRegistry.DefaultPipeline.Sum(s => s.Passes.Count));
        GraphValidator.Validate(model);
        using var temp = Fixtures.Temp();
        OnnxWriter.Save(model, temp.File("model.onnx"));
        var dir = Fixtures.Dir(fixture);
        var output = OrtRunner.Run(temp.File("model.onnx"), OrtRunner.TestInputs(dir))[0];
        Assert.All(output.ToDoubleArray(), v => Assert.True(double.IsFinite(v)));

        // The stored outputs are ORT CPU's on the original; fp32 exports reproduce them to about 1e-6.
        Assert.InRange(OrtRunner.RelativeL2(output, OrtRunner.TestOutput(dir)), 0, Math.Max(tolerance, fixture.Contains("fp32", StringComparison.Ordinal) ? 1e-5 : tolerance));
    }
}
