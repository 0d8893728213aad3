using System.Globalization;
using System.Text;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Reports;

/// <summary>Writes an <see cref="OptimizeReport"/> as JSON or Markdown (chosen by the file extension), atomically.</summary>
public static class OptimizeReportWriter
{
    public static void Write(OptimizeReport report, string path)
    {
        CheckPath(path);
        var text = string.Equals(Path.GetExtension(path), ".json", StringComparison.OrdinalIgnoreCase) ? ReportJson.Serialize(report, CoreJson.Reports.OptimizeReport) : ToMarkdown(report);
        AtomicFile.WriteAllText(path, text);
    }

    /// <summary>Refuses a report path whose extension names no known format (call it before doing the work).</summary>
    public static void CheckPath(string path)
    {
        if (Path.GetExtension(path).ToLowerInvariant() is not (".json" or ".md" or ".markdown"))
        {
            throw new Ir.ForgeInputException($"{path}: report must end in .json or .md");
        }
    }

    /// <summary>The rows of onnx-simplifier's table: every op of either model with its counts before and after.</summary>
    public static IReadOnlyList<(string Op, int Original, int Optimized)> CensusRows(OptimizeReport report) =>
        report.Before.OpCensus.Keys.Union(report.After.OpCensus.Keys).Order(StringComparer.Ordinal)
            .Select(op => (op, report.Before.OpCensus.GetValueOrDefault(op), report.After.OpCensus.GetValueOrDefault(op)))
            .ToList();

    public static string ToMarkdown(OptimizeReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# forge optimize: {report.ModelPath ?? "model"}");
        md.AppendLine();
        if (report.OutputPath is not null)
        {
            md.AppendLine(c, $"Output: `{report.OutputPath}`. Total time: {Format.Number(report.TotalMilliseconds, "0.0")} ms.");
            md.AppendLine();
        }

        md.AppendLine("| op | original | optimized |");
        md.AppendLine("|---|---:|---:|");
        foreach (var (op, before, after) in CensusRows(report))
        {
            md.AppendLine(c, $"| {op} | {before} | {after} |");
        }

        md.AppendLine(c, $"| **nodes** | **{report.Before.Nodes}** | **{report.After.Nodes}** |");
        md.AppendLine(c, $"| initializers | {report.Before.Initializers} | {report.After.Initializers} |");
        md.AppendLine(c, $"| weight bytes | {report.Before.WeightBytes} | {report.After.WeightBytes} |");
        md.AppendLine();
        md.AppendLine("## Passes");
        md.AppendLine();
        md.AppendLine("| stage | iteration | pass | ms | nodes before | nodes after | census change | counters |");
        md.AppendLine("|---:|---:|---|---:|---:|---:|---|---|");
        foreach (var p in report.Passes)
        {
            var delta = string.Join(", ", p.CensusDelta.Select(kv => $"{kv.Key} {kv.Value:+0;-0}"));
            var counters = string.Join(", ", p.Counters.Where(kv => kv.Value != 0).Select(kv => $"{kv.Key}: {kv.Value}"));
            md.AppendLine(c, $"| {p.Stage} | {p.Iteration} | {p.Pass} | {Format.Number(p.Milliseconds, "0.0")} | {p.NodesBefore} | {p.NodesAfter} | {Escape(delta)} | {Escape(counters)} |");
        }

        if (report.Notes.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Notes");
            md.AppendLine();
            foreach (var note in report.Notes)
            {
                md.AppendLine(c, $"- {note}");
            }
        }

        return md.ToString();
    }

    private static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal);
}
