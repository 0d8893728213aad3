using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

public sealed class OptimizeInputShapeCommandTests
{
    [Fact]
    public void Input_shape_pins_inputs_and_bad_specs_exit_2_without_output()
    {
        using var dir = Fixtures.Temp();
        var model = Fixtures.Model("tiny_vae_decoder_opset12_fp32");
        var ok = ForgeCli.Run("optimize", model, "-o", dir.File("ok.onnx"), "--input-shape", "input_0:1x4x8x8", "--report", dir.File("r.json"));
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Contains("fix-input-shapes", File.ReadAllText(dir.File("r.json")), StringComparison.Ordinal);

        foreach (var bad in new[] { "nope:1x4x8x8", "input_0:1x4x9x8", "input_0", "input_0:1xAx8x8" })
        {
            var result = ForgeCli.Run("optimize", model, "-o", dir.File("bad.onnx"), "--input-shape", bad);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("--input-shape", result.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(dir.File("bad.onnx")));
        }
    }
}
