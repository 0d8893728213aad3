using System.Diagnostics;
using System.Globalization;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Fuzz;

/// <summary>
/// The worker side (<c>forge-fuzz --worker</c>): reads case numbers from stdin, one a line, runs each in
/// process and answers on stdout with protocol lines the pool reads (anything else on stdout is ignored):
/// <c>@@phase CASE forge FIXTURE MUTATION</c> before forge runs, <c>@@phase CASE ort</c> before the comparison,
/// <c>@@phase CASE ort-reference</c> as the check loads or runs the case's input (a worker that dies there died on
/// the input, not on forge's output) and <c>@@phase CASE ort</c> again as it turns to forge's output, <c>@@done CASE VERDICT EXIT FORGE_MS ORT_MS DETAIL</c> at the end; fields are tab-separated.
/// </summary>
internal static class Worker
{
    public const string Phase = "@@phase";
    public const string Done = "@@done";

    public static int Serve(CaseRunner runner, bool keepAll)
    {
        var stdout = Console.Out;
        while (Console.In.ReadLine() is { } line)
        {
            if (!int.TryParse(line, NumberStyles.Integer, CultureInfo.InvariantCulture, out var index))
            {
                continue;
            }

            var result = RunCase(runner, index, keepAll, (phase, input) =>
            {
                stdout.WriteLine(phase == "forge"
                    ? Line(Phase, index.ToString(CultureInfo.InvariantCulture), phase, input.Fixture, input.Mutation)
                    : Line(Phase, index.ToString(CultureInfo.InvariantCulture), phase));
                stdout.Flush();
            }).Result;
            stdout.WriteLine(Line(Done, index.ToString(CultureInfo.InvariantCulture), result.Verdict, result.Exit.ToString(CultureInfo.InvariantCulture),
                result.Milliseconds.Forge.ToString("0", CultureInfo.InvariantCulture), result.Milliseconds.Ort.ToString("0", CultureInfo.InvariantCulture), result.Detail));
            stdout.Flush();
        }

        return 0;
    }

    /// <summary>One case from mutation to verdict; <paramref name="phase"/> is told "forge", then "ort" and "ort-reference" as the check moves between forge's output and the input. The case folder is kept for findings (or always with <paramref name="keepAll"/>).</summary>
    public static (CaseInput Input, CaseResult Result) RunCase(CaseRunner runner, int index, bool keepAll, Action<string, CaseInput> phase)
    {
        var input = runner.Prepare(index);
        phase("forge", input);
        var clock = Stopwatch.StartNew();
        var (exit, message, crashed) = CaseRunner.Optimize(input);
        var forgeMs = clock.Elapsed.TotalMilliseconds;
        CaseResult result;
        if (exit == 0)
        {
            clock.Restart();
            phase("ort", input);
            try
            {
                result = CaseRunner.Compare(input, new PhaseReport(p => phase(p.IsOriginal() ? "ort-reference" : "ort", input)));
            }
#pragma warning disable CA1031 // a failure of the comparison itself is reported as a case of its own kind, never lost
            catch (Exception e)
#pragma warning restore CA1031
            {
                result = new CaseResult(index, Verdicts.HarnessError, 0, $"{e.GetType().Name}: {e.Message}");
            }
        }
        else
        {
            result = new CaseResult(index, exit is 2 or 3 && !crashed ? Verdicts.Refused : Verdicts.Crash, exit, message);
        }

        result = result with { Milliseconds = (forgeMs, exit == 0 ? clock.Elapsed.TotalMilliseconds : 0) };

        if (!keepAll && !Verdicts.IsFinding(result.Verdict))
        {
            Directory.Delete(input.Folder, recursive: true);
        }

        return (input, result);
    }

    public static string Line(params string[] fields) => string.Join('\t', fields.Select(f => f.ReplaceLineEndings(" ").Replace('\t', ' ')));

    /// <summary>Tells the check's phases as they start, on the calling thread (<see cref="Progress{T}"/> would post them later).</summary>
    private sealed class PhaseReport(Action<CheckPhase> report) : IProgress<CheckPhase>
    {
        public void Report(CheckPhase value) => report(value);
    }
}
