using System.Globalization;
using System.Text;
using System.Text.Json;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Reports;

namespace OnnxTrtForge.Validation;

/// <summary>
/// <c>forge optimize --report</c>: the optimizer's report with the <c>--check</c> result beside it (JSON key
/// <c>check</c>, null when no check ran; a Markdown section), written atomically.
/// </summary>
public static class OptimizeCheckReport
{
    public static void Write(OptimizeReport report, OptimizeCheckResult? check, string path)
    {
        OptimizeReportWriter.CheckPath(path);
        var text = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase) ? ToJson(report, check) : ToMarkdown(report, check);
        AtomicFile.WriteAllText(path, text);
    }

    public static string ToJson(OptimizeReport report, OptimizeCheckResult? check)
    {
        var document = JsonSerializer.SerializeToNode(report, CoreJson.Reports.OptimizeReport)!.AsObject();
        document["check"] = check is null ? null : JsonSerializer.SerializeToNode(check, ValidationJson.Reports.OptimizeCheckResult);
        if (check is not null)
        {
            document["check"]!["passed"] = check.Passed;
        }

        return document.ToJsonString(ValidationJson.Reports.Options);
    }

    public static string ToMarkdown(OptimizeReport report, OptimizeCheckResult? check)
    {
        var md = new StringBuilder(OptimizeReportWriter.ToMarkdown(report));
        if (check is null)
        {
            return md.ToString();
        }

        var c = CultureInfo.InvariantCulture;
        md.AppendLine().AppendLine(c, $"## Check: {(check.Passed ? "passed" : "FAILED")}").AppendLine();
        md.AppendLine(c, $"Optimized vs {check.Reference} on {check.Inputs} (ONNX Runtime CPU, optimizations off).").AppendLine();
        md.AppendLine("| inputs | output | type | rel L2 | max abs diff | tolerance | |").AppendLine("|---|---|---|---:|---:|---:|---|");
        foreach (var o in check.Outputs)
        {
            md.AppendLine(c, $"| {o.DataSet} | {o.Output} | {o.ElementType} | {o.RelativeL2:0.###e+0} | {o.MaxAbsDiff:0.###e+0} | {o.Tolerance:0.#e+0} | {(o.Passed ? "ok" : o.NonFinite ? "NaN/Inf" : "out of tolerance")} |");
        }

        foreach (var note in check.Notes)
        {
            md.AppendLine().Append("- note: ").AppendLine(note);
        }

        return md.ToString();
    }
}
