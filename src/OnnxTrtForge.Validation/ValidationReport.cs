using System.Globalization;
using System.Text;
using OnnxTrtForge.Core.Reports;

namespace OnnxTrtForge.Validation;

/// <summary>Writes a <see cref="ValidationResult"/> as JSON (.json) or Markdown (anything else), atomically.</summary>
public static class ValidationReport
{
    public static void Write(string path, ValidationResult result)
    {
        var text = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase)
            ? ReportJson.Serialize(new ValidationReportDocument(result.Passed, result.Summary(), result), ValidationJson.Reports.ValidationReportDocument)
            : ToMarkdown(result);
        AtomicFile.WriteAllText(path, text);
    }

    public static string ToMarkdown(ValidationResult r)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# forge validate: {(r.Passed ? "PASSED" : "FAILED")}");
        md.AppendLine();
        md.AppendLine(c, $"{r.Summary()}");
        md.AppendLine();
        md.AppendLine(c, $"- reference: {r.Reference}");
        md.AppendLine(c, $"- candidate: {r.Candidate}");
        md.AppendLine(c, $"- loop: {r.Scheduler} (diffusers {(r.Semantics == Schedulers.SchedulerSemantics.V024 ? "v0.2.4" : "current")} semantics), {r.Steps} steps, guidance {r.GuidanceScale}");
        md.AppendLine(c, $"- tolerance: noise rel L2 ≤ {r.Tolerance.NoiseRelativeL2:0.###E+0}, latents rel L2 ≤ {r.Tolerance.LatentRelativeL2:0.###E+0}");
        if (r.FinalLatents is { } f)
        {
            md.AppendLine(c, $"- final latents: rel L2 {f.RelativeL2:0.###E+0}, max abs {f.MaxAbsError:0.###E+0}, cosine {f.Cosine:0.#######}");
        }

        if (r.Image is { } image)
        {
            md.AppendLine(c, $"- image: {image.ImagePath} ({image.Width}×{image.Height}), PSNR {image.Psnr:0.##} dB, max pixel error {image.Pixels.MaxAbsError:0.####}");
        }

        md.AppendLine(c, $"- reference: {Timing(r.ReferenceTiming)}");
        md.AppendLine(c, $"- candidate: {Timing(r.CandidateTiming)}");
        md.AppendLine();
        md.AppendLine("| step | t | noise rel L2 | noise max abs | noise cosine | guided rel L2 | latents rel L2 | ok |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|:-:|");
        foreach (var s in r.StepComparisons)
        {
            md.AppendLine(c, $"| {s.Step} | {s.Timestep:0.###} | {s.Noise.RelativeL2:0.###E+0} | {s.Noise.MaxAbsError:0.###E+0} | {s.Noise.Cosine:0.#######} | {s.GuidedNoise.RelativeL2:0.###E+0} | {s.Latents.RelativeL2:0.###E+0} | {(s.WithinTolerance ? "✓" : "✗")} |");
        }

        return md.ToString();
    }

    public static string Timing(LoopTiming t)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{t.StepsPerSecond:0.##} steps/s, model {t.PredictorSeconds:0.###} s of {t.LoopSeconds:0.###} s");
        return t.Overhead is { } o ? text + string.Create(CultureInfo.InvariantCulture, $", loop overhead over bare session runs {o:P2}") : text;
    }
}
