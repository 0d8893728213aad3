using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>
/// The fixtures carry freshly initialized norm weights (γ = 1, β = 0), which the neutral-arithmetic
/// rules remove outright. Trained models do not; these tests give every such tensor random values and
/// check the default pipeline still agrees with the original in ONNX Runtime and stays under budget.
/// </summary>
public sealed class OptimizerRobustnessTests
{
    [Theory]
    [InlineData("tiny_unet_opset12_fp32", 2000)]
    [InlineData("tiny_unet_dynamo18_fp32", 1600)]
    [InlineData("tiny_vae_decoder_opset12_fp32", 216)]
    public void Default_pipeline_agrees_with_the_original_when_norm_weights_are_not_neutral(string fixture, int maxNodes)
    {
        using var temp = Fixtures.Temp();
        using var model = OnnxReader.Load(Fixtures.Model(fixture));
        var rng = new Random(3);
        var randomized = 0;
        foreach (var value in model.Graph.Initializers.ToList())
        {
            var t = value.Initializer!;
            if (t.Type != DataType.Float || t.Dims.Length == 0 || t.ElementCount < 2 || t.ElementCount > 4096)
            {
                continue;
            }

            var values = t.ToDoubleArray();
            if (values.All(v => v == 1) || values.All(v => v == 0))
            {
                var center = values[0];
                var fresh = values.Select(_ => (float)(center + ((rng.NextDouble() - 0.5) * 0.8))).ToArray();
                model.Graph.SetInitializer(value, Tensor.FromFloats(t.Dims, fresh));
                randomized++;
            }
        }

        Assert.True(randomized > 0);
        OnnxWriter.Save(model, temp.File("original.onnx"));
        var inputs = OrtRunner.TestInputs(Fixtures.Dir(fixture));
        var expected = OrtRunner.Run(temp.File("original.onnx"), inputs)[0];

        var report = Optimizer.Optimize(model);

        Assert.InRange(report.After.Nodes, 1, maxNodes);
        OnnxWriter.Save(model, temp.File("optimized.onnx"));
        var actual = OrtRunner.Run(temp.File("optimized.onnx"), inputs)[0];
        Assert.InRange(OrtRunner.RelativeL2(actual, expected), 0, 1e-5);
    }
}
