using System.Globalization;
using System.Text;
using System.Xml.Linq;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Pipelines.Spec;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>
/// The run's reports, written atomically into the artifact folder: <c>report.json</c> (everything),
/// <c>report.md</c> (gates, figures, artifacts; appended to <c>$GITHUB_STEP_SUMMARY</c> when set) and
/// <c>junit.xml</c> (one test case per gate; skipped gates as skipped).
/// </summary>
public static class PipelineReports
{
    public const string Json = "report.json";
    public const string Markdown = "report.md";
    public const string JUnit = "junit.xml";

    public static PipelineRunResult Write(PipelineRunResult result, LoadedPipeline pipeline, Func<string, string?> environment)
    {
        var spec = pipeline.Spec;
        var names = new List<(string Name, string? File)>
        {
            ("optimized model", spec.Optimize?.Output),
            ("fp16 model", spec.Optimize?.Fp16?.Output),
            ("engine", spec.Build?.Engine),
            ("engine build log", spec.Build is null ? null : spec.Build.Engine + ".log"),
            ("validation image", spec.Validate?.Decoder is null ? null : spec.Validate.Image),
        };
        var artifacts = names.Where(n => n.File is not null && File.Exists(Path.Combine(pipeline.OutDirectory, n.File)))
            .Select(n => new Artifact(n.Name, Path.Combine(pipeline.OutDirectory, n.File!), new FileInfo(Path.Combine(pipeline.OutDirectory, n.File!)).Length))
            .ToList();
        result = result with { Artifacts = artifacts };
        var formats = spec.Reports.Formats;
        if (formats.Contains(ReportFormat.Json))
        {
            AtomicFile.WriteAllText(Path.Combine(pipeline.OutDirectory, Json), ReportJson.Serialize(result, PipelinesJson.Reports.PipelineRunResult));
        }

        var markdown = ToMarkdown(result);
        if (formats.Contains(ReportFormat.Md))
        {
            AtomicFile.WriteAllText(Path.Combine(pipeline.OutDirectory, Markdown), markdown);
        }

        if (formats.Contains(ReportFormat.Junit))
        {
            AtomicFile.WriteAllText(Path.Combine(pipeline.OutDirectory, JUnit), ToJUnit(result));
        }

        if (spec.Reports.StepSummary && environment("GITHUB_STEP_SUMMARY") is { Length: > 0 } summary)
        {
            File.AppendAllText(summary, markdown + "\n");
        }

        return result;
    }

    public static string ToMarkdown(PipelineRunResult r)
    {
        var md = new StringBuilder();
        var verdict = r.Passed ? "✅ passed" : $"❌ failed (exit {r.ExitCode})";
        md.AppendLine(CultureInfo.InvariantCulture, $"## forge run `{r.Pipeline}`: {verdict}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Pipeline `{r.File}`, artifacts in `{r.OutDirectory}`, {Num(r.Seconds, "0.0")} s, stages: {string.Join(" → ", r.Stages.Select(s => s.ToString().ToLowerInvariant()))}.");
        md.AppendLine();
        md.AppendLine("| gate | stage | result | time | details |");
        md.AppendLine("|---|---|---|---:|---|");
        foreach (var g in r.Gates)
        {
            var result = g.Status switch { GateStatus.Passed => "✅ pass", GateStatus.Failed => $"❌ fail (exit {g.ExitCode})", _ => "⏭ skipped" };
            md.AppendLine(CultureInfo.InvariantCulture, $"| {g.Name} | {g.Stage.ToString().ToLowerInvariant()} | {result} | {Num(g.Seconds, "0.0")} s | {Cell(g.Message)} |");
        }

        if (r.Details.TryGetValue("optimize", out var o) && o is OptimizeReport opt)
        {
            md.AppendLine();
            md.AppendLine("### Optimize");
            md.AppendLine();
            md.AppendLine("| | original | optimized |");
            md.AppendLine("|---|---:|---:|");
            md.AppendLine(CultureInfo.InvariantCulture, $"| nodes | {opt.Before.Nodes} | {opt.After.Nodes} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| initializers | {opt.Before.Initializers} | {opt.After.Initializers} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| weight bytes | {Format.Bytes(opt.Before.WeightBytes)} | {Format.Bytes(opt.After.WeightBytes)} |");
            foreach (var op in opt.Before.OpCensus.Keys.Union(opt.After.OpCensus.Keys).Order(StringComparer.Ordinal))
            {
                var before = opt.Before.OpCensus.GetValueOrDefault(op);
                var after = opt.After.OpCensus.GetValueOrDefault(op);
                if (before != after)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {op} | {before} | {after} |");
                }
            }

            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{opt.Passes.Count} pass runs in {Num(opt.TotalMilliseconds / 1000, "0.00")} s.");
        }

        var figures = r.Gates.Where(g => g.Figures.Count > 0).ToList();
        if (figures.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("### Figures");
            md.AppendLine();
            foreach (var g in figures)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- **{g.Name}**: {string.Join(", ", g.Figures.Select(f => $"{f.Key} `{f.Value}`"))}");
            }
        }

        if (r.Notes.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("### Notes");
            md.AppendLine();
            foreach (var note in r.Notes)
            {
                md.AppendLine("- " + note);
            }
        }

        md.AppendLine();
        md.AppendLine("### Artifacts");
        md.AppendLine();
        foreach (var a in r.Artifacts)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {a.Name}: `{a.Path}` ({Format.Bytes(a.Bytes)})");
        }

        return md.ToString();
    }

    public static string ToJUnit(PipelineRunResult r)
    {
        var suite = new XElement("testsuite",
            new XAttribute("name", "forge run " + r.Pipeline),
            new XAttribute("tests", r.Gates.Count),
            new XAttribute("failures", r.Gates.Count(g => g.Status == GateStatus.Failed)),
            new XAttribute("errors", 0),
            new XAttribute("skipped", r.Gates.Count(g => g.Status == GateStatus.Skipped)),
            new XAttribute("time", Num(r.Seconds, "0.###")),
            new XAttribute("timestamp", r.Started.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)));
        foreach (var g in r.Gates)
        {
            var testcase = new XElement("testcase",
                new XAttribute("classname", $"forge.{r.Pipeline}.{g.Stage.ToString().ToLowerInvariant()}"),
                new XAttribute("name", g.Name),
                new XAttribute("time", Num(g.Seconds, "0.###")));
            switch (g.Status)
            {
                case GateStatus.Failed:
                    testcase.Add(new XElement("failure", new XAttribute("message", g.Message), new XAttribute("type", $"exit-{g.ExitCode}"), g.Message));
                    break;
                case GateStatus.Skipped:
                    testcase.Add(new XElement("skipped", new XAttribute("message", g.Message)));
                    break;
            }

            var output = string.Join("\n", new[] { g.Message }.Concat(g.Figures.Select(f => $"{f.Key}: {f.Value}")));
            testcase.Add(new XElement("system-out", output));
            suite.Add(testcase);
        }

        var root = new XElement("testsuites",
            new XAttribute("name", "forge"),
            new XAttribute("tests", r.Gates.Count),
            new XAttribute("failures", r.Gates.Count(g => g.Status == GateStatus.Failed)),
            new XAttribute("time", Num(r.Seconds, "0.###")),
            suite);
        return new XDocument(new XDeclaration("1.0", "utf-8", null), root).Declaration + "\n" + root + "\n";
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string Num(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
