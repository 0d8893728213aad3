using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>
/// The default pipeline on the real exports: node counts under the peers' (PEERS.md: onnxscript
/// 3791/2279/2059/1633/217, ORT basic 216 on the VAE) and outputs matching test_data_set_0 in ONNX Runtime.
/// </summary>
public sealed class SimplifierFixtureTests
{
    [Theory]
    [InlineData("tiny_unet_opset12_fp16_aten", 2200, 2e-3)]
    [InlineData("tiny_unet_opset12_fp16", 2200, 2e-3)]
    [InlineData("tiny_unet_opset12_fp32", 2000, 1e-5)]
    [InlineData("tiny_unet_dynamo18_fp32", 1600, 1e-5)]
    [InlineData("tiny_vae_decoder_opset12_fp32", 216, 1e-5)]
    public void Default_pipeline_beats_the_peers_and_matches_the_stored_outputs(string fixture, int maxNodes, double tolerance)
    {
        using var model = OnnxReader.Load(Fixtures.Model(fixture));

        var report = Optimizer.Optimize(model);

        Assert.InRange(report.After.Nodes, 1, maxNodes);
        Assert.DoesNotContain(model.Graph.Nodes, n => n.OpType is "ATen" or "Constant" or "Identity" or "Shape" || !n.IsOnnxDomain);
        using var temp = Fixtures.Temp();
        var path = temp.File("optimized.onnx");
        OnnxWriter.Save(model, path);
        var output = OrtRunner.Run(path, OrtRunner.TestInputs(Fixtures.Dir(fixture)))[0];
        Assert.DoesNotContain(output.ToDoubleArray(), v => !double.IsFinite(v));
        Assert.InRange(OrtRunner.RelativeL2(output, OrtRunner.TestOutput(Fixtures.Dir(fixture))), 0, tolerance);
    }
}
