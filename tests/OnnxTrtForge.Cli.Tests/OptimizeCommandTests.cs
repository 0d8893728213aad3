using System.Security.Cryptography;
using System.Text.Json;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

public sealed class OptimizeCommandTests
{
    [Fact]
    public void Optimize_writes_the_model_prints_the_table_and_json_and_markdown_reports_without_touching_the_input()
    {
        using var dir = Fixtures.Temp();
        var input = Fixtures.Model("tiny_vae_decoder_opset12_fp32");
        var hash = SHA256.HashData(File.ReadAllBytes(input));
        var output = dir.File("vae.onnx");

        var result = ForgeCli.Run("optimize", input, "-o", output, "--report", dir.File("report.json"));
        var markdown = ForgeCli.Run("optimize", input, "-o", dir.File("vae2.onnx"), "--report", dir.File("report.md"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(0, markdown.ExitCode);
        Assert.Equal(hash, SHA256.HashData(File.ReadAllBytes(input)));
        Assert.True(File.Exists(output));
        foreach (var row in new[] { "original", "optimized", "nodes", "initializers", "weight bytes", "Constant" })
        {
            Assert.Contains(row, result.Stdout, StringComparison.Ordinal);
        }

        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("report.json")));
        var root = json.RootElement;
        Assert.Equal(425, root.GetProperty("before").GetProperty("nodes").GetInt32());
        var after = root.GetProperty("after").GetProperty("nodes").GetInt32();
        Assert.InRange(after, 1, 424);
        var passes = root.GetProperty("passes").EnumerateArray().ToList();
        Assert.Contains(passes, p => p.GetProperty("pass").GetString() == "remove-identity" && p.GetProperty("censusDelta").TryGetProperty("Identity", out _));
        Assert.All(passes, p => Assert.True(p.GetProperty("milliseconds").GetDouble() >= 0));
        Assert.Equal(after, passes[^1].GetProperty("nodesAfter").GetInt32());
        var md = File.ReadAllText(dir.File("report.md"));
        Assert.Contains("| op | original | optimized |", md, StringComparison.Ordinal);
        Assert.Contains("## Passes", md, StringComparison.Ordinal);
        Assert.Contains($"| **nodes** | **425** | **{after}** |", md, StringComparison.Ordinal);
        var inspected = ForgeCli.Run("inspect", "--json", output);
        using var summary = JsonDocument.Parse(inspected.Stdout);
        Assert.Equal(after, summary.RootElement.GetProperty("nodes").GetInt32());
    }

    [Fact]
    public void Check_on_the_aten_export_compares_with_the_stored_outputs_and_passes()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_unet_opset12_fp16_aten"), "-o", dir.File("unet.onnx"), "--check");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("stored outputs", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("check passed", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("ATen", ForgeCli.Run("inspect", dir.File("unet.onnx")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_without_test_data_runs_seeded_random_inputs_against_the_original()
    {
        using var dir = Fixtures.Temp();
        var input = dir.File("model.onnx");
        File.Copy(Fixtures.Model("tiny_vae_decoder_opset12_fp32"), input);

        var result = ForgeCli.Run("optimize", input, "-o", dir.File("out.onnx"), "--check", "--passes", "lift-constants,remove-identity,remove-dead-nodes");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("original model", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("random inputs (seed 0)", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_pass_exits_2_naming_the_known_passes_and_writes_nothing()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("out.onnx"), "--passes", "remove-identity,fold-everything");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("fold-everything", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("remove-dead-nodes", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Refuses_to_overwrite_its_input()
    {
        using var dir = Fixtures.Temp();
        var input = dir.File("model.onnx");
        File.Copy(Fixtures.Model("tiny_vae_decoder_opset12_fp32"), input);

        var result = ForgeCli.Run("optimize", input, "-o", input);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(File.ReadAllBytes(Fixtures.Model("tiny_vae_decoder_opset12_fp32")), File.ReadAllBytes(input));
    }

    [Fact]
    public void Unknown_rewrite_rule_or_report_format_exits_2_before_writing_anything()
    {
        using var dir = Fixtures.Temp();

        var result = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("out.onnx"), "--rules", "aten-roll");
        var badReport = ForgeCli.Run("optimize", Fixtures.Model("tiny_vae_decoder_opset12_fp32"), "-o", dir.File("out.onnx"), "--report", dir.File("r.txt"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("aten-broadcast-to-expand", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badReport.ExitCode);
        Assert.Contains("r.txt", badReport.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Validating_each_pass_gives_the_same_model_as_the_plain_run()
    {
        using var dir = Fixtures.Temp();
        var input = Fixtures.Model("tiny_vae_decoder_opset12_fp32");

        var plain = ForgeCli.Run("optimize", input, "-o", dir.File("a.onnx"));
        var validated = ForgeCli.Run("optimize", input, "-o", dir.File("b.onnx"), "--validate-each-pass");

        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(0, validated.ExitCode);
        Assert.Equal(File.ReadAllBytes(dir.File("a.onnx")), File.ReadAllBytes(dir.File("b.onnx")));
    }

    [Fact]
    public void Optimize_refuses_a_folder_a_path_under_a_file_and_a_report_onto_the_output_with_exit_2_before_any_work()
    {
        using var dir = Fixtures.Temp();
        var input = Fixtures.Model("tiny_vae_decoder_opset12_fp32");
        File.WriteAllText(dir.File("file.txt"), "x");

        var folder = ForgeCli.Run("optimize", input, "-o", dir.Path);
        var underFile = ForgeCli.Run("optimize", input, "-o", dir.File("file.txt/m.onnx"));
        var reportOnModel = ForgeCli.Run("optimize", input, "-o", dir.File("m.json"), "--report", dir.File("m.json"));

        foreach (var run in new[] { folder, underFile, reportOnModel })
        {
            Assert.Equal(2, run.ExitCode);
            Assert.Single(run.Stderr.Trim().Split('\n'));
            Assert.DoesNotContain("original", run.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("is a directory", folder.Stderr, StringComparison.Ordinal);
        Assert.Contains("file.txt/m.onnx", underFile.Stderr, StringComparison.Ordinal);
        Assert.Equal(["file.txt"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }
}
