using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace OnnxTrtForge.Fuzz;

/// <summary>How the pool runs its workers.</summary>
internal sealed record PoolSettings(int Jobs, TimeSpan ForgeTimeout, TimeSpan OrtTimeout, IReadOnlyList<string> WorkerArguments)
{
    /// <summary>No case starts after this much time (the run ends with the cases done so far); null: no limit.</summary>
    public TimeSpan? TimeLimit { get; init; }
}

/// <summary>A finished case as the pool saw it: the worker's answer, or what the pool concluded when the worker died or went silent.</summary>
internal sealed record PoolResult(CaseResult Result, string Fixture, string Mutation);

/// <summary>
/// Runs cases on <see cref="PoolSettings.Jobs"/> worker processes (<c>forge-fuzz --worker</c>), each case in
/// process inside a worker, so a case costs no process start. A worker that dies during forge is a
/// <c>crash</c> (a stack overflow, an abort), one silent past the forge timeout a <c>hang</c>; either is
/// killed and replaced, and the run goes on.
/// </summary>
internal sealed class WorkerPool(PoolSettings settings, Action<string> log)
{
    public IReadOnlyList<PoolResult> Run(IReadOnlyList<int> cases)
    {
        var queue = new ConcurrentQueue<int>(cases);
        var results = new ConcurrentBag<PoolResult>();
        var clock = Stopwatch.StartNew();
        var done = 0;
        var findings = 0;
        void Finished(PoolResult r)
        {
            results.Add(r);
            if (Verdicts.IsFinding(r.Result.Verdict))
            {
                Interlocked.Increment(ref findings);
                log($"finding: case {r.Result.Case} ({r.Fixture}, {r.Mutation}): {r.Result.Verdict} exit {r.Result.Exit}: {r.Result.Detail}");
            }

            var n = Interlocked.Increment(ref done);
            if (n % 100 == 0)
            {
                log($"{n}/{cases.Count} cases, {n / clock.Elapsed.TotalSeconds:0.0} cases/s, {Volatile.Read(ref findings)} findings");
            }
        }

        var deadline = settings.TimeLimit is { } limit ? DateTime.UtcNow + limit : DateTime.MaxValue;
        var slots = Enumerable.Range(0, Math.Max(1, settings.Jobs)).Select(_ => Task.Run(() => Slot(queue, deadline, Finished))).ToArray();
        Task.WaitAll(slots);
        return results.OrderBy(r => r.Result.Case).ToList();
    }

    private async Task Slot(ConcurrentQueue<int> queue, DateTime deadline, Action<PoolResult> finished)
    {
        WorkerProcess? worker = null;
        var failedStarts = 0;
        try
        {
            while (DateTime.UtcNow < deadline && queue.TryDequeue(out var index))
            {
                worker ??= WorkerProcess.Start(settings.WorkerArguments);
                var outcome = await worker.RunAsync(index, settings.ForgeTimeout, settings.OrtTimeout);
                if (outcome.Result is null)
                {
                    // the worker died or went silent: it is replaced; a worker that never reaches a case is a broken set-up, not a finding
                    worker.Dispose();
                    worker = null;
                    if (outcome.Phase is null && ++failedStarts >= 3)
                    {
                        throw new InvalidOperationException($"the worker process does not start: {outcome.Detail}");
                    }

                    if (outcome.Phase is null)
                    {
                        queue.Enqueue(index);
                        continue;
                    }
                }

                failedStarts = 0;
                finished(new PoolResult(outcome.Result ?? Conclude(index, outcome), outcome.Fixture ?? "?", outcome.Mutation ?? "?"));
            }
        }
        finally
        {
            worker?.Dispose();
        }
    }

    private static CaseResult Conclude(int index, WorkerProcess.Outcome outcome) => outcome switch
    {
        { TimedOut: true, Phase: "forge" } => new CaseResult(index, Verdicts.Hang, -1, outcome.Detail),
        { TimedOut: true } => new CaseResult(index, Verdicts.OrtTimeout, -1, outcome.Detail),
        { Phase: "forge" } => new CaseResult(index, Verdicts.Crash, outcome.ExitCode, "the process died in forge: " + outcome.Detail),
        { Phase: "ort-reference" } => new CaseResult(index, Verdicts.ReferenceCrash, outcome.ExitCode, "the process died in ONNX Runtime on the input (not forge's output): " + outcome.Detail),
        _ => new CaseResult(index, Verdicts.OrtCrash, outcome.ExitCode, "the process died in ONNX Runtime: " + outcome.Detail),
    };

    /// <summary>One worker process and the lines it writes.</summary>
    private sealed class WorkerProcess : IDisposable
    {
        private readonly Process process;
        private readonly Channel<string> lines = Channel.CreateUnbounded<string>();
        private readonly Queue<string> stderrTail = new();

        private WorkerProcess(Process process)
        {
            this.process = process;
        }

        public sealed record Outcome(CaseResult? Result, string? Phase, string? Fixture, string? Mutation, bool TimedOut, int ExitCode, string Detail);

        public static WorkerProcess Start(IReadOnlyList<string> arguments)
        {
            // the same program, as it was started: an apphost, or `dotnet forge-fuzz.dll`
            var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
            var psi = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                psi.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
            }

            psi.ArgumentList.Add("--worker");
            foreach (var a in arguments)
            {
                psi.ArgumentList.Add(a);
            }

            var worker = new WorkerProcess(Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {self}"));
            _ = Task.Run(worker.PumpStdout);
            _ = Task.Run(worker.PumpStderr);
            return worker;
        }

        /// <summary>Sends one case and waits for its answer; forge and ONNX Runtime each have their own time limit.</summary>
        public async Task<Outcome> RunAsync(int index, TimeSpan forgeTimeout, TimeSpan ortTimeout)
        {
            string? phase = null, fixture = null, mutation = null;
            try
            {
                await process.StandardInput.WriteLineAsync(index.ToString(CultureInfo.InvariantCulture));
                await process.StandardInput.FlushAsync();
            }
            catch (IOException e)
            {
                return new Outcome(null, null, null, null, false, -1, e.Message);
            }

            while (true)
            {
                using var limit = new CancellationTokenSource(phase is "ort" or "ort-reference" ? ortTimeout : forgeTimeout);
                string line;
                try
                {
                    line = await lines.Reader.ReadAsync(limit.Token);
                }
                catch (OperationCanceledException)
                {
                    Kill();
                    var limitText = (phase is "ort" or "ort-reference" ? ortTimeout : forgeTimeout).TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
                    return new Outcome(null, phase, fixture, mutation, true, -1, $"no answer within {limitText} s (phase {phase ?? "start"})");
                }
                catch (ChannelClosedException)
                {
                    process.WaitForExit();
                    return new Outcome(null, phase, fixture, mutation, false, process.ExitCode, $"exit {process.ExitCode}; {StderrTail()}");
                }

                var fields = line.Split('\t');
                if (fields[0] == Worker.Phase && fields.Length >= 3 && fields[1] == index.ToString(CultureInfo.InvariantCulture))
                {
                    phase = fields[2];
                    if (fields.Length >= 5)
                    {
                        (fixture, mutation) = (fields[3], fields[4]);
                    }
                }
                else if (fields[0] == Worker.Done && fields.Length >= 7 && fields[1] == index.ToString(CultureInfo.InvariantCulture))
                {
                    var result = new CaseResult(index, fields[2], int.Parse(fields[3], CultureInfo.InvariantCulture), string.Join(' ', fields[6..]))
                    {
                        Milliseconds = (double.Parse(fields[4], CultureInfo.InvariantCulture), double.Parse(fields[5], CultureInfo.InvariantCulture)),
                    };
                    return new Outcome(result, phase, fixture, mutation, false, 0, "");
                }
            }
        }

        public void Dispose()
        {
            Kill();
            process.Dispose();
        }

        private void Kill()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
        }

        private async Task PumpStdout()
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("@@", StringComparison.Ordinal))
                {
                    await lines.Writer.WriteAsync(line);
                }
            }

            lines.Writer.Complete();
        }

        private async Task PumpStderr()
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (stderrTail)
                {
                    stderrTail.Enqueue(line);
                    if (stderrTail.Count > 6)
                    {
                        stderrTail.Dequeue();
                    }
                }
            }
        }

        private string StderrTail()
        {
            lock (stderrTail)
            {
                return string.Join(" | ", stderrTail);
            }
        }
    }
}
