using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using Xunit.Abstractions;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>The default pipeline on the real exports: what must be gone, the node budgets of issue 3, and ORT agreement.</summary>
public sealed class OptimizerFixtureTests(ITestOutputHelper log)
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

        var report = Optimizer.Optimize(model, new OptimizeOptions { ValidateEveryPass = true });

        var census = model.Graph.OpCensus();
        foreach (var gone in new[] { "org.pytorch.aten::ATen", "Constant", "Identity", "Shape" })
        {
            Assert.False(census.ContainsKey(gone), $"{gone} left: {census.GetValueOrDefault(gone)}");
        }

        log.WriteLine($"{fixture}: {report.Before.Nodes} → {report.After.Nodes} nodes");
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

    /// <summary>
    /// The same exports with a symbolic batch (as <c>dynamic_axes</c> exports have): shape chains can no
    /// longer fold, so what the pipeline keeps must still compute the right thing for the real batch.
    /// </summary>
    [Theory]
    [InlineData("tiny_unet_opset12_fp16_aten", 2e-3)]
    [InlineData("tiny_vae_decoder_opset12_fp32", 1e-5)]
    public void Default_pipeline_keeps_a_symbolic_batch_model_correct(string fixture, double tolerance)
    {
        using var model = OnnxReader.Load(Fixtures.Model(fixture));
        foreach (var value in model.Graph.Inputs.Concat(model.Graph.Outputs))
        {
            value.Type = value.Type! with { Shape = [Dim.Symbol("batch"), .. value.Type.Shape!.Skip(1)] };
        }

        foreach (var node in model.Graph.Nodes)
        {
            foreach (var inner in node.Outputs.Where(o => o.Type is not null && !model.Graph.Outputs.Contains(o)))
            {
                inner.Type = inner.Type! with { Shape = null };
            }
        }

        var report = Optimizer.Optimize(model);

        log.WriteLine($"{fixture} with a symbolic batch: {report.Before.Nodes} → {report.After.Nodes} nodes");
        Assert.DoesNotContain("org.pytorch.aten::ATen", report.After.OpCensus.Keys);
        Assert.DoesNotContain("Identity", report.After.OpCensus.Keys);
        Assert.DoesNotContain("Constant", report.After.OpCensus.Keys);
        Assert.True(report.After.Nodes < report.Before.Nodes);
        using var temp = Fixtures.Temp();
        OnnxWriter.Save(model, temp.File("model.onnx"));
        var dir = Fixtures.Dir(fixture);
        var output = OrtRunner.Run(temp.File("model.onnx"), OrtRunner.TestInputs(dir))[0];
        Assert.InRange(OrtRunner.RelativeL2(output, OrtRunner.TestOutput(dir)), 0, tolerance);
    }
}
