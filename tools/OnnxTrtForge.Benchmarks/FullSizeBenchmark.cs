using System.Globalization;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Benchmarks;

/// <summary>
/// <c>forge-bench fullsize</c>: forge on rebuilt full-size models against a plain <c>cp</c> of the same
/// files (model and weights), in the same run, alternating, each step a separate process under
/// /usr/bin/time writing into an emptied folder. Steps: <c>convert</c> (load + save, external data),
/// <c>optimize</c> (default pipeline, external data), <c>fp16</c> (<c>optimize --fp16</c>, only on models
/// with float32 weights). Prints one Markdown table with medians, minimums, peak RSS and the ratio to cp.
/// </summary>
internal static class FullSizeBenchmark
{
    private static readonly string[] AllSteps = ["convert", "optimize", "fp16"];

    public static int Run(string[] args, Func<string, string, string> option)
    {
        var forge = Path.GetFullPath(option("--forge", "forge.dll"));
        var work = Path.GetFullPath(option("--work", Path.Combine(Path.GetTempPath(), "forge-fullsize")));
        var runs = int.Parse(option("--runs", "3"), CultureInfo.InvariantCulture);
        var steps = option("--steps", string.Join(",", AllSteps)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (steps.FirstOrDefault(s => !AllSteps.Contains(s)) is { } unknown)
        {
            throw new ForgeInputException($"--steps: unknown step '{unknown}' (known: {string.Join(", ", AllSteps)})");
        }

        var models = Positional(args).Select(Path.GetFullPath).ToList();
        if (models.Count == 0)
        {
            throw new ForgeInputException("fullsize: no model given (pass the rebuilt .onnx files)");
        }

        Directory.CreateDirectory(work);
        var rows = new List<(string Model, string Step, double Seconds, long RssKb)>();
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            var refs = ExternalDataIndex.Read(model);
            var folder = Path.GetDirectoryName(model)!;
            var files = new[] { model }.Concat(refs.Select(r => Path.GetFullPath(Path.Combine(folder, r.Location))).Distinct(StringComparer.Ordinal)).ToList();
            if (files.FirstOrDefault(f => !File.Exists(f)) is { } absent)
            {
                throw new ForgeInputException($"{model}: weights file {absent} not found (rebuild it first: forge-bench rebuild)");
            }

            var name = Path.GetFileName(model);
            sizes[name] = files.Sum(f => new FileInfo(f).Length);
            // a float32 export (most weight bytes float32); an fp16 export's few float32 tensors do not count
            var hasFloat32 = refs.Where(r => r.Type == DataType.Float).Sum(r => r.Length) * 2 > refs.Sum(r => r.Length);
            for (var run = 0; run < runs; run++)
            {
                foreach (var step in steps)
                {
                    if (step == "fp16" && !hasFloat32)
                    {
                        continue;
                    }

                    var copy = Measure.Timed("cp", string.Join(" ", files) + " " + work + "/");
                    rows.Add((name, "cp (model + weights)", copy.Seconds, copy.RssKb));
                    Measure.Clean(work);
                    var output = Path.Combine(work, "out.onnx");
                    var arguments = step switch
                    {
                        "convert" => $"{forge} convert {model} -o {output} --external-data always",
                        "optimize" => $"{forge} optimize {model} -o {output} --external-data always",
                        _ => $"{forge} optimize {model} --fp16 -o {output}",
                    };
                    var measured = Measure.Timed("dotnet", arguments, step == "fp16" ? "forge optimize --fp16" : "forge " + step);
                    rows.Add((name, step == "fp16" ? "forge optimize --fp16" : "forge " + step, measured.Seconds, measured.RssKb));
                    Measure.Clean(work);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {Environment.OSVersion}; {runs} runs, medians; cp and forge alternate");
        Console.WriteLine("| model | step | median s | min s | peak RSS MB | ratio to cp |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var byModel in rows.GroupBy(r => r.Model))
        {
            var cp = Measure.Median(byModel.Where(r => r.Step.StartsWith("cp", StringComparison.Ordinal)).Select(r => r.Seconds));
            var first = true;
            foreach (var group in byModel.GroupBy(r => r.Step))
            {
                var median = Measure.Median(group.Select(r => r.Seconds));
                var label = first ? $"{byModel.Key} ({sizes[byModel.Key] / 1e9:0.00} GB)" : "";
                Console.WriteLine($"| {label} | {group.Key} | {median:0.00} | {group.Min(r => r.Seconds):0.00} | {group.Max(r => r.RssKb) / 1024.0:0} | {median / cp:0.00} |");
                first = false;
            }
        }

        return 0;
    }

    /// <summary>The arguments after the command that are not an option or an option's value.</summary>
    private static IEnumerable<string> Positional(string[] args)
    {
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                i++;
                continue;
            }

            yield return args[i];
        }
    }
}
