using System.Text.Json;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Tests.Passes;
using OnnxTrtForge.Testing;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Reports;

/// <summary>
/// The Markdown report against golden text next to this file (times zeroed). Set
/// FORGE_UPDATE_GOLDEN=1 to rewrite the golden file after an intended change.
/// </summary>
public sealed class OptimizeReportWriterTests
{
    private static OptimizeReport Sample()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var bias = m.Op("Constant", [], Attribute.TensorValue("value", Tensor.FromFloats([3], [1, 2, 3])));
        var id = m.Op("Identity", [x]);
        var e1 = m.Op("Exp", [id.Outputs[0]]);
        var e2 = m.Op("Exp", [id.Outputs[0]]);
        var sum = m.Op("Add", [e1.Outputs[0], e2.Outputs[0]]);
        var y = m.Op("Add", [sum.Outputs[0], bias.Outputs[0]]);
        m.Op("Neg", [x]);
        m.Output(y.Outputs[0], DataType.Float, 2, 3);
        var report = Optimizer.Optimize(m.Model, new OptimizeOptions
        {
            Passes = ["lift-constants", "remove-identity", "cse", "remove-dead-nodes", "remove-unused-initializers", "topological-sort"],
        });
        return report with
        {
            Passes = report.Passes.Select(p => p with { Milliseconds = 0 }).ToList(),
            TotalMilliseconds = 0,
            ModelPath = "tiny.onnx",
            OutputPath = "tiny.optimized.onnx",
        };
    }

    [Fact]
    public void Markdown_report_matches_the_golden_text()
    {
        var golden = Path.Combine(Fixtures.RepoRoot, "tests", "OnnxTrtForge.Core.Tests", "Reports", "OptimizeReport.golden.md");
        var markdown = OptimizeReportWriter.ToMarkdown(Sample());
        if (Environment.GetEnvironmentVariable("FORGE_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(golden, markdown);
        }

        Assert.Equal(File.ReadAllText(golden), markdown);
    }

    [Fact]
    public void Json_report_round_trips_the_per_pass_figures()
    {
        using var dir = Fixtures.Temp();
        var report = Sample();

        OptimizeReportWriter.Write(report, dir.File("r.json"));

        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("r.json")));
        var passes = json.RootElement.GetProperty("passes");
        Assert.Equal(6, passes.GetArrayLength());
        Assert.Equal("cse", passes[2].GetProperty("pass").GetString());
        Assert.Equal(-1, passes[2].GetProperty("censusDelta").GetProperty("Exp").GetInt32());
        Assert.Equal(report.After.Nodes, json.RootElement.GetProperty("after").GetProperty("nodes").GetInt32());
        Assert.Throws<ForgeInputException>(() => OptimizeReportWriter.Write(report, dir.File("r.txt")));
    }
}
