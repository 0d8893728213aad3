using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Fuzz;

// forge-fuzz --forge PATH [--fixtures DIR] [--cases N] [--seed S] [--timeout-s T]
// Each case: one seeded mutation of one fixture, `forge optimize` on it, then the verdict:
//   crash (exit 1 or a signal), hang (timeout), refused-ok (exit 2/3), bad-output (exit 0, ONNX Runtime
//   refuses the output while it loads the mutated input), ok. Exit 1 when any crash, hang or bad output.
var options = Args(args);
var forge = options.GetValueOrDefault("forge") ?? throw new ArgumentException("--forge PATH (the built forge binary) is required");
var fixtures = options.GetValueOrDefault("fixtures") ?? "tests/fixtures";
var cases = int.Parse(options.GetValueOrDefault("cases") ?? "100", CultureInfo.InvariantCulture);
var seed = int.Parse(options.GetValueOrDefault("seed") ?? "1", CultureInfo.InvariantCulture);
var timeout = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("timeout-s") ?? "120", CultureInfo.InvariantCulture));
var models = Directory.EnumerateFiles(fixtures, "model.onnx", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
if (models.Count == 0)
{
    throw new ArgumentException($"no model.onnx under {fixtures}");
}

var originals = models.Select(File.ReadAllBytes).ToList();
var work = Directory.CreateTempSubdirectory("forge-fuzz-").FullName;
var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
var findings = new List<string>();
var clock = Stopwatch.StartNew();
for (var i = 0; i < cases; i++)
{
    var random = new Random(HashCode.Combine(seed, i));
    var which = random.Next(models.Count);
    var (bytes, description) = Mutator.Mutate(originals[which], random);
    var dir = Path.Combine(work, i.ToString("D5", CultureInfo.InvariantCulture));
    Directory.CreateDirectory(dir);
    var input = Path.Combine(dir, "model.onnx");
    File.WriteAllBytes(input, bytes);
    var output = Path.Combine(dir, "out.onnx");
    var (exit, stderr, timedOut) = Run(forge, ["optimize", input, "-o", output], timeout);
    var verdict = timedOut ? "hang" : exit switch
    {
        0 => LoadsInOrt(output) || !LoadsInOrt(input) ? "ok" : "bad-output",
        2 or 3 => "refused",
        _ => "crash",
    };
    counts[verdict] = counts.GetValueOrDefault(verdict) + 1;
    if (verdict is "crash" or "hang" or "bad-output")
    {
        findings.Add($"case {i} ({Path.GetFileName(Path.GetDirectoryName(models[which]))}, {description}): {verdict} exit {exit}: {FirstLine(stderr)}");
    }
    else
    {
        Directory.Delete(dir, recursive: true);
    }
}

Console.WriteLine($"forge-fuzz: {cases} cases, seed {seed}, {models.Count} fixtures, {clock.Elapsed.TotalSeconds:0} s");
Console.WriteLine(string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}")));
foreach (var f in findings)
{
    Console.WriteLine(f);
}

Console.WriteLine(findings.Count == 0 ? "no crash, no hang, no exit 0 with an output ONNX Runtime refuses" : $"findings kept under {work}");
return findings.Count == 0 ? 0 : 1;

static (int Exit, string Stderr, bool TimedOut) Run(string exe, string[] arguments, TimeSpan timeout)
{
    var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }

    using var process = Process.Start(psi)!;
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    if (!process.WaitForExit(timeout))
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return (-1, "", true);
    }

    return (process.ExitCode, stderr.Result, false);
}

static bool LoadsInOrt(string path)
{
    try
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var session = new InferenceSession(path, options);
        return true;
    }
    catch (OnnxRuntimeException)
    {
        return false;
    }
}

static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";

static Dictionary<string, string> Args(string[] args)
{
    var result = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        result[args[i].TrimStart('-')] = args[i + 1];
    }

    return result;
}
