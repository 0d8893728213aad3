using System.Text.Json;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

public sealed class OptimizeFp16CommandTests
{
    [Fact]
    public void Fp16_ends_the_pipeline_with_the_fp16_stage_halves_the_weights_and_passes_the_check()
    {
        using var dir = Fixtures.Temp();
        var output = dir.File("vae16.onnx");

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", output, "--fp16", "--op-block-list", "+Softmax", "--check", "--report", dir.File("report.json"));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Casts inserted", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("check passed", result.Stdout, StringComparison.Ordinal);
        using var report = JsonDocument.Parse(File.ReadAllText(dir.File("report.json")));
        var passes = report.RootElement.GetProperty("passes").EnumerateArray().ToList();
        Assert.Equal(Core.Passes.PassRegistry.Fp16Stage.Passes, passes.TakeLast(Core.Passes.PassRegistry.Fp16Stage.Passes.Count).Select(p => p.GetProperty("pass").GetString()));
        var before = report.RootElement.GetProperty("before").GetProperty("weightBytes").GetInt64();
        var after = report.RootElement.GetProperty("after").GetProperty("weightBytes").GetInt64();
        Assert.True(after <= before * 52 / 100, $"{after} of {before} weight bytes");
        using var summary = JsonDocument.Parse(ForgeCli.Run("inspect", "--json", output).Stdout);
        Assert.Equal("float", summary.RootElement.GetProperty("inputs")[0].GetProperty("elementType").GetString());
    }

    [Fact]
    public void Without_keep_io_types_the_model_takes_fp16_and_the_check_feeds_it_converted_data()
    {
        using var dir = Fixtures.Temp();
        var output = dir.File("vae16.onnx");

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", output, "--passes", "to-fp16", "--keep-io-types", "false", "--check");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("check passed", result.Stdout, StringComparison.Ordinal);
        using var summary = JsonDocument.Parse(ForgeCli.Run("inspect", "--json", output).Stdout);
        Assert.Equal("float16", summary.RootElement.GetProperty("inputs")[0].GetProperty("elementType").GetString());
        Assert.Equal("float16", summary.RootElement.GetProperty("outputs")[0].GetProperty("elementType").GetString());
    }

    [Fact]
    public void Fp16_options_without_a_conversion_are_bad_input()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("x.onnx"), "--op-block-list", "+Softmax");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("need --fp16", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.onnx")));
    }

    [Fact]
    public void Bf16_on_an_opset_12_model_is_a_failed_pass_and_writes_nothing()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("x.onnx"), "--passes", "to-fp16", "--to", "bf16");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("bf16 needs opset 13", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.onnx")));
    }
}
