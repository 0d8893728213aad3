using System.Text.Json;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

public sealed class InspectAndConvertCommandTests
{
    [Fact]
    public void Inspect_prints_the_census_table()
    {
        var result = ForgeCli.Run("inspect", Fixtures.Model("tiny_unet_opset12_fp16_aten"));
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("org.pytorch.aten::ATen", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("5946", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_json_reports_signature_census_and_weights()
    {
        var result = ForgeCli.Run("inspect", "--json", Fixtures.Model("tiny_vae_decoder_opset12_fp32"));
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(425, root.GetProperty("nodes").GetInt32());
        Assert.Equal(91, root.GetProperty("opCensus").GetProperty("Constant").GetInt32());
        Assert.Equal("float", root.GetProperty("inputs")[0].GetProperty("elementType").GetString());
        Assert.True(root.GetProperty("weightBytesEmbedded").GetInt64() > 0);
        Assert.Equal(0, root.GetProperty("weightBytesExternal").GetInt64());
    }

    [Fact]
    public void Convert_to_external_and_back_keeps_the_census()
    {
        using var dir = Fixtures.Temp();
        var external = dir.File("ext.onnx");
        Assert.Equal(0, ForgeCli.Run("convert", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", external, "--external-data", "always").ExitCode);
        Assert.True(File.Exists(external + ".data"));
        var inspected = ForgeCli.Run("inspect", "--json", external);
        using var json = JsonDocument.Parse(inspected.Stdout);
        Assert.Equal(425, json.RootElement.GetProperty("nodes").GetInt32());
        Assert.Equal("ext.onnx.data", json.RootElement.GetProperty("externalFiles")[0].GetString());
        Assert.True(json.RootElement.GetProperty("weightBytesExternal").GetInt64() > 0);
    }

    [Fact]
    public void Corrupt_model_exits_2_with_one_line_and_writes_nothing()
    {
        using var dir = Fixtures.Temp();
        var corrupt = dir.File("corrupt.onnx");
        var bytes = File.ReadAllBytes(Fixtures.Model("tiny_vae_decoder_opset12_fp32"));
        File.WriteAllBytes(corrupt, bytes[..1000]);
        var output = dir.File("out.onnx");
        var result = ForgeCli.Run("convert", corrupt, "-o", output);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("corrupt.onnx", line, StringComparison.Ordinal);
        Assert.Equal([Path.GetFileName(corrupt)], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Equal(bytes[..1000], File.ReadAllBytes(corrupt));
    }

    [Fact]
    public void Missing_model_and_unknown_option_exit_2()
    {
        Assert.Equal(2, ForgeCli.Run("inspect", "/nonexistent/model.onnx").ExitCode);
        Assert.Equal(2, ForgeCli.Run("convert", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", "x.onnx", "--external-data", "sometimes").ExitCode);
    }
}
