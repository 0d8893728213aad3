using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

public sealed class OptimizeTargetCommandTests
{
    [Fact]
    public void Target_ort_cuda_writes_a_model_with_the_fused_contrib_ops()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_unet_opset12_fp32"), "-o", dir.File("unet.onnx"), "--target", "ort-cuda");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("com.microsoft::MultiHeadAttention", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("com.microsoft::GroupNorm", result.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("unet.onnx")));
    }

    [Fact]
    public void An_ort_cuda_model_checked_on_the_cpu_is_exit_2_naming_the_output_the_cuda_only_op_and_the_device_and_writes_nothing()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_unet_opset12_fp16"), "-o", dir.File("unet.onnx"), "--target", "ort-cuda", "--check");

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(dir.File("unet.onnx") + ":", line, StringComparison.Ordinal);
        Assert.Contains("NhwcConv", line, StringComparison.Ordinal);
        Assert.Contains("--device cpu", line, StringComparison.Ordinal);
        Assert.DoesNotContain(".forge-check", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Target_tensorrt_exits_3_naming_a_non_standard_node_and_writes_nothing()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_unet_opset12_fp16_aten"), "-o", dir.File("unet.onnx"), "--target", "tensorrt", "--passes", "remove-identity");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("org.pytorch.aten::ATen", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Unknown_target_exits_2()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("out.onnx"), "--target", "tpu");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("tpu", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
