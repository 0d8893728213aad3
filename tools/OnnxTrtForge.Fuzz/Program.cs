using System.Diagnostics;
using System.Globalization;
using System.Text;
using OnnxTrtForge.Fuzz;

// forge-fuzz [--fixtures DIR] [--cases N] [--first K] [--seed S] [--jobs J] [--timeout-s T] [--ort-timeout-s T]
//            [--max-seconds T] [--work DIR] [--out DIR]
// forge-fuzz --case K [--seed S] [--fixtures DIR] [--work DIR]     one case in this process, its files kept
//
// Each case k of seed S is one seeded mutation (Mutator.cs) of one fixture (every model.onnx under --fixtures),
// run through forge's optimize road in process (CaseRunner.Optimize: the library calls of `forge optimize
// MODEL -o OUT`, ForgeException → its exit code, anything else → exit 1), on --jobs worker processes
// (forge-fuzz --worker) so that a case costs no process start and a stack overflow or a hang costs one worker.
// The mutation of (S, k) is the same on every machine: `--case k --seed S` reproduces a finding, and its
// model.onnx is then a plain `forge optimize` input.
//
// Verdicts (F: a finding, the run exits 1; L: listed in the summary for a look; the rest are counted only):
//   forge exit 2 or 3 (it refused the input, or its own check refused its result)    refused
//   forge exit 1, any other non-zero exit, an exit 3 wrapping a .NET exception thrown
//   inside a pass (IndexOutOfRange, NullReference, ...), or the worker died in forge crash          F
//   no answer within --timeout-s during forge (the worker is killed)                 hang           F
//   forge exit 0: the input and forge's output run side by side by OptimizeCheck (forge --check's code and
//   tolerances: fp32 rel L2 1e-5, fp16 2e-3, non-finite values must match; CPU, optimizations off, one thread)
//   on the fixture's test_data_set_0 when it still fits the mutated inputs, else on inputs seeded with k
//   (symbolic dims 1). Where ONNX Runtime refuses the input itself, the reference is the input after forge's
//   rewrite rules only (how --check treats ATen exports):
//     reference runs, output runs and agrees                                         ok
//     reference runs, output runs and differs (values, shapes, NaN/Inf pattern)      wrong-output   F
//     ... fp16/bf16 outputs only, and forge's output is no further from the graph's
//         float32 evaluation than the reference is (Float32Judge.cs)                 fp16-reordered L
//     reference runs, output does not load or run                                    bad-output     F
//     no reference runs (the input is broken), the output does not run either        both-refused
//     no reference runs, the output runs (forge repaired or dropped what ORT refused) repaired       L
//     inputs over 2^24 elements, or inputs the comparison cannot build               unchecked      L
//     ONNX Runtime silent past --ort-timeout-s                                       ort-timeout    L
//     the worker died inside ONNX Runtime loading or running the input              reference-crash L
//     the worker died inside ONNX Runtime afterwards (running forge's output)        ort-crash      F
//     the comparison itself threw                                                    harness-error  F
// "fp16-reordered" is not a finding: the reference and forge's output are two fp16 evaluations of one graph, in
// orders ONNX leaves open (split-heads-into-einsum's Einsum accumulates elsewhere than the MatMuls it replaces; even
// the unmutated fp16 UNet fixture differs from its optimized form by rel L2 7e-4). Where a mutation makes the graph
// ill-conditioned (65504 put into a bias or MatMul weight), the two orders differ beyond fp16's tolerance, and the
// reference may even overflow to NaN where forge's order stays finite. The yardstick is then the graph's own float32
// evaluation: forge's output may not overflow where the reference does not, must keep the float32 evaluation's own
// NaN/Inf, and may be no further from it than the reference is plus the fp16 tolerance; anything else stays wrong-output.
// "reference-crash" is not a finding: ONNX Runtime aborts the process on some malformed inputs (forge --check runs
// ONNX Runtime in a child process, so such an input is exit 2 there).
// An exit-0 "repaired" case is not a finding: forge may drop a stale annotation or a dead node ONNX Runtime
// refused (issue 13 item 1's lenient reading) and there is nothing left to compare with.
// Totals and findings go to stdout and, with --out, to DIR/summary.txt. Exit 0: no finding; 1: findings; 2: usage.
var options = Options.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: forge-fuzz [--fixtures DIR] [--cases N] [--first K] [--seed S] [--jobs J] [--timeout-s T] [--ort-timeout-s T] [--max-seconds T] [--work DIR] [--out DIR] | --case K");
    return 2;
}

var fixtures = Fixture.LoadAll(options.Fixtures);
if (options.Worker)
{
    return Worker.Serve(new CaseRunner(fixtures, options.Seed, options.Work!), keepAll: false);
}

if (options.Case is { } single)
{
    var work = options.Work ?? Directory.CreateTempSubdirectory("forge-fuzz-").FullName;
    var (input, result) = Worker.RunCase(new CaseRunner(fixtures, options.Seed, work), single, keepAll: true, (phase, _) => Console.WriteLine($"phase {phase}"));
    Console.WriteLine($"case {single} seed {options.Seed} ({input.Fixture}, {input.Mutation}): {result.Verdict} exit {result.Exit}: {result.Detail}");
    Console.WriteLine($"forge {result.Milliseconds.Forge:0} ms, ONNX Runtime {result.Milliseconds.Ort:0} ms");
    Console.WriteLine($"files kept in {input.Folder}");
    return Verdicts.IsFinding(result.Verdict) ? 1 : 0;
}

var workFolder = options.Work ?? Directory.CreateTempSubdirectory("forge-fuzz-").FullName;
Directory.CreateDirectory(workFolder);
string[] workerArguments = ["--fixtures", Path.GetFullPath(options.Fixtures), "--seed", options.Seed.ToString(CultureInfo.InvariantCulture), "--work", Path.GetFullPath(workFolder)];
var settings = new PoolSettings(options.Jobs, TimeSpan.FromSeconds(options.TimeoutSeconds), TimeSpan.FromSeconds(options.OrtTimeoutSeconds), workerArguments)
{
    TimeLimit = options.MaxSeconds is { } max ? TimeSpan.FromSeconds(max) : null,
};
var clock = Stopwatch.StartNew();
var results = new WorkerPool(settings, line => Console.WriteLine(line)).Run(Enumerable.Range(options.First, options.Cases).ToList());
var seconds = clock.Elapsed.TotalSeconds;

var summary = new StringBuilder();
if (results.Count < options.Cases)
{
    // the queue hands out cases in order and every case handed out finishes: the cases run are first..first+count-1
    summary.AppendLine(CultureInfo.InvariantCulture, $"stopped at --max-seconds {options.MaxSeconds}: {results.Count} of {options.Cases} cases ran; go on with --first {options.First + results.Count} --cases {options.Cases - results.Count}");
}

summary.AppendLine(CultureInfo.InvariantCulture, $"forge-fuzz: {results.Count} cases ({options.First}..{options.First + results.Count - 1}), seed {options.Seed}, {fixtures.Count} fixtures, {options.Jobs} jobs, {seconds:0} s, {results.Count / seconds:0.00} cases/s");
summary.AppendLine(string.Join(", ", results.GroupBy(r => r.Result.Verdict).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}")));
summary.AppendLine(CultureInfo.InvariantCulture, $"time per case (in a worker): forge {results.Average(r => r.Result.Milliseconds.Forge):0} ms; ONNX Runtime comparison {results.Where(r => r.Result.Milliseconds.Ort > 0).Select(r => r.Result.Milliseconds.Ort).DefaultIfEmpty().Average():0} ms per exit-0 case");
summary.AppendLine("refused by exit code: " + string.Join(", ", results.Where(r => r.Result.Verdict == Verdicts.Refused).GroupBy(r => r.Result.Exit).OrderBy(g => g.Key).Select(g => $"exit {g.Key}: {g.Count()}")));
summary.AppendLine("by fixture: " + string.Join(", ", results.GroupBy(r => r.Fixture).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count(r => r.Result.Verdict == Verdicts.Ok)} ok of {g.Count()}")));
// exit 3 says a pass broke the graph: on a mutated input that is a refusal, but the wrong class of one; their reasons
foreach (var reason in results.Where(r => r.Result.Exit == 3).GroupBy(r => Reason(r.Result.Detail)).OrderByDescending(g => g.Count()).Take(10))
{
    summary.AppendLine(CultureInfo.InvariantCulture, $"  exit 3 x{reason.Count()} (e.g. case {reason.First().Result.Case}): {reason.Key}");
}

var findings = results.Where(r => Verdicts.IsFinding(r.Result.Verdict)).ToList();
foreach (var (title, list) in new[] { ("findings", findings), ("listed for a look", results.Where(r => Verdicts.IsListed(r.Result.Verdict)).ToList()) })
{
    summary.AppendLine(CultureInfo.InvariantCulture, $"{title}: {list.Count}");
    foreach (var r in list)
    {
        summary.AppendLine(CultureInfo.InvariantCulture, $"  case {r.Result.Case} ({r.Fixture}, {r.Mutation}): {r.Result.Verdict} exit {r.Result.Exit}: {r.Result.Detail}");
    }
}

summary.AppendLine(findings.Count == 0
    ? "no crash, no hang, no exit 0 with an output ONNX Runtime refuses or that differs from the original"
    : $"findings kept under {workFolder}; reproduce one with: forge-fuzz --seed {options.Seed} --case K");
Console.Write(summary);
if (options.Out is { } outFolder)
{
    Directory.CreateDirectory(outFolder);
    File.WriteAllText(Path.Combine(outFolder, $"summary-seed{options.Seed}.txt"), summary.ToString());
}

if (findings.Count == 0 && options.Work is null)
{
    Directory.Delete(workFolder, recursive: true);
}

return findings.Count == 0 ? 0 : 1;

// a message without its names and numbers, so that one cause is one line
static string Reason(string detail)
{
    var text = System.Text.RegularExpressions.Regex.Replace(detail, "'[^']*'", "'…'");
    text = System.Text.RegularExpressions.Regex.Replace(text, "[0-9]+", "N");
    return text.Length > 160 ? text[..160] : text;
}

namespace OnnxTrtForge.Fuzz
{
    /// <summary>The command line of forge-fuzz.</summary>
    internal sealed record Options
    {
        public string Fixtures { get; init; } = "tests/fixtures";

        public int Cases { get; init; } = 100;

        public int First { get; init; }

        public int Seed { get; init; } = 1;

        public int Jobs { get; init; } = Environment.ProcessorCount;

        public double TimeoutSeconds { get; init; } = 60;

        public double OrtTimeoutSeconds { get; init; } = 120;

        public double? MaxSeconds { get; init; }

        public string? Work { get; init; }

        public string? Out { get; init; }

        public int? Case { get; init; }

        public bool Worker { get; init; }

        /// <summary>The options, or null on a usage error.</summary>
        public static Options? Parse(string[] args)
        {
            var options = new Options();
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                if (name == "--worker")
                {
                    options = options with { Worker = true };
                    continue;
                }

                if (i + 1 >= args.Length)
                {
                    return null;
                }

                var value = args[++i];
                var number = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : (int?)null;
                var seconds = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : (double?)null;
                options = name switch
                {
                    "--fixtures" => options with { Fixtures = value },
                    "--work" => options with { Work = value },
                    "--out" => options with { Out = value },
                    "--cases" when number > 0 => options with { Cases = number.Value },
                    "--first" when number >= 0 => options with { First = number.Value },
                    "--seed" when number is not null => options with { Seed = number.Value },
                    "--jobs" when number > 0 => options with { Jobs = number.Value },
                    "--case" when number >= 0 => options with { Case = number.Value },
                    "--timeout-s" when seconds is not null => options with { TimeoutSeconds = seconds.Value },
                    "--ort-timeout-s" when seconds is not null => options with { OrtTimeoutSeconds = seconds.Value },
                    "--max-seconds" when seconds is not null => options with { MaxSeconds = seconds.Value },
                    _ => null,
                };
                if (options is null)
                {
                    return null;
                }
            }

            return options.Worker && options.Work is null ? null : options;
        }
    }
}
