using System.Text.Json;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

/// <summary>What every command shares: help, mistyped commands, enum values, report paths, directories, exit codes.</summary>
public sealed class ConventionsCommandTests
{
    [Fact]
    public void Bare_forge_prints_help_with_the_exit_code_table_and_exits_0()
    {
        var result = ForgeCli.Run();
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Commands:", result.Stdout);
        Assert.Contains("143  terminated (SIGTERM)", result.Stdout);
    }

    [Fact]
    public void A_mistyped_command_exits_2_and_suggests_the_near_one()
    {
        var result = ForgeCli.Run("optimise", "model.onnx");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown command 'optimise' (did you mean 'optimize'?)", result.Stderr);
    }

    [Fact]
    public void A_bad_enum_value_exits_2_with_the_lower_case_list()
    {
        var result = ForgeCli.Run("build", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "--engine", "x.trt", "--precision", "fp12");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--precision fp12: expected one of fp32, fp16, bf16", result.Stderr);
        var help = ForgeCli.Run("optimize", "--help");
        Assert.Contains("<auto|always|never>", help.Stdout);
        Assert.Contains("<fp16|bf16>", help.Stdout);
    }

    [Fact]
    public void Enum_values_parse_in_any_case()
    {
        using var dir = Fixtures.Temp();
        var result = ForgeCli.Run("convert", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("v.onnx"), "--external-data", "Never");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("wrote", result.Stdout);
    }

    [Theory]
    [InlineData("validate")]
    [InlineData("build")]
    [InlineData("optimize")]
    public void A_report_that_is_not_json_or_md_exits_2_before_any_work(string command)
    {
        using var dir = Fixtures.Temp();
        var model = Fixtures.Model("tiny_unet_opset12_fp32");
        string[] args = command switch
        {
            "validate" => ["validate", "--reference", model, "--candidate", model, "--steps", "1", "--report", dir.File("r.html")],
            "build" => ["build", model, "--engine", dir.File("e.trt"), "--report", dir.File("r.html")],
            _ => ["optimize", model, "-o", dir.File("o.onnx"), "--report", dir.File("r.html")],
        };
        var result = ForgeCli.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("a report is .json or .md", result.Stderr);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void A_directory_where_a_file_is_needed_is_named_as_one()
    {
        using var dir = Fixtures.Temp();
        var result = ForgeCli.Run("inspect", dir.Path);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{dir.Path}: is a directory, expected a file", result.Stderr);
        var output = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.Path);
        Assert.Equal(2, output.ExitCode);
        Assert.Contains("is a directory", output.Stderr);
    }

    [Fact]
    public void The_optimize_json_report_carries_the_check_result_and_says_where_it_was_written()
    {
        using var dir = Fixtures.Temp();
        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("v.onnx"), "--check", "--report", dir.File("r.json"));
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"wrote report: {dir.File("r.json")}", result.Stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("r.json")));
        var check = json.RootElement.GetProperty("check");
        Assert.True(check.GetProperty("passed").GetBoolean());
        Assert.True(check.GetProperty("outputs").GetArrayLength() > 0);
        Assert.True(json.RootElement.GetProperty("after").GetProperty("nodes").GetInt32() > 0);

        var unchecked_ = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("w.onnx"), "--report", dir.File("s.json"));
        Assert.True(unchecked_.ExitCode == 0, unchecked_.Stderr);
        using var plain = JsonDocument.Parse(File.ReadAllText(dir.File("s.json")));
        Assert.Equal(JsonValueKind.Null, plain.RootElement.GetProperty("check").ValueKind);
    }
}
