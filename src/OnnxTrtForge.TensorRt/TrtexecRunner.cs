using System.Diagnostics;
using CliWrap;

namespace OnnxTrtForge.TensorRt;

/// <summary>Progress of a trtexec run: the phase read from its log, the time since it started, the latest line.</summary>
public sealed record TrtexecProgress(TrtexecPhase Phase, TimeSpan Elapsed, string LastLine)
{
    /// <summary>true for a periodic report that only updates the elapsed time (the phase did not change).</summary>
    public bool Heartbeat { get; init; }
}

/// <summary>The raw outcome of one trtexec process: exit code, how it ended, where the log is, its last lines.</summary>
public sealed record TrtexecRun(int ExitCode, bool TimedOut, bool Cancelled, TimeSpan Elapsed, string LogPath, IReadOnlyList<string> Tail)
{
    public IReadOnlyList<string> Arguments { get; init; } = [];
}

/// <summary>
/// Runs trtexec through CliWrap: an argument list (never a shell string), stdout and stderr streamed line
/// by line into a log file, phases reported as they change, a timeout, and cancellation that asks
/// trtexec to stop (SIGINT) and kills it if it does not within a grace period.
/// </summary>
public static class TrtexecRunner
{
    public const int TailLines = 40;

    public static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>How often progress is reported while the phase stays the same (trtexec can time tactics for minutes).</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The lines to show for a failed run: its first error lines (trtexec may print pages of usage after
    /// "Unknown option") followed by the tail of the log.
    /// </summary>
    public static IReadOnlyList<string> FailureTail(TrtexecRun run, int maxErrors = 10)
    {
        if (!File.Exists(run.LogPath))
        {
            return run.Tail;
        }

        var inTail = run.Tail.ToHashSet(StringComparer.Ordinal);
        var errors = File.ReadLines(run.LogPath).Where(l => TrtexecLog.Severity(l) == 'E' && !inTail.Contains(l)).Take(maxErrors).ToList();
        return errors.Count == 0 ? run.Tail : [.. errors, "...", .. run.Tail];
    }

    public static Task<TrtexecRun> RunAsync(
        string executable,
        IReadOnlyList<string> arguments,
        string logPath,
        TimeSpan? timeout,
        IProgress<TrtexecProgress>? progress,
        CancellationToken ct) => RunAsync(executable, arguments, logPath, timeout, progress, HeartbeatInterval, ct);

    public static async Task<TrtexecRun> RunAsync(
        string executable,
        IReadOnlyList<string> arguments,
        string logPath,
        TimeSpan? timeout,
        IProgress<TrtexecProgress>? progress,
        TimeSpan heartbeatInterval,
        CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var tail = new Queue<string>(TailLines);
        var gate = new object();
        var phase = TrtexecPhase.Starting;
        var lastLine = "";
        var clock = Stopwatch.StartNew();
        await using var log = new StreamWriter(logPath, append: false);
        using var timeoutCts = new CancellationTokenSource();
        if (timeout is { } t)
        {
            timeoutCts.CancelAfter(t);
        }

        using var graceful = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
        using var forceful = new CancellationTokenSource();
        await using var escalate = graceful.Token.Register(() => forceful.CancelAfter(GracePeriod));

        void OnLine(string line)
        {
            TrtexecProgress? report = null;
            lock (gate)
            {
                log.WriteLine(line);
                if (tail.Count == TailLines)
                {
                    tail.Dequeue();
                }

                tail.Enqueue(line);
                lastLine = line;
                if (TrtexecLog.PhaseOf(line) is { } p && p > phase)
                {
                    phase = p;
                    report = new TrtexecProgress(p, clock.Elapsed, line);
                }
            }

            if (report is not null)
            {
                progress?.Report(report);
            }
        }

        var command = Cli.Wrap(executable)
            .WithArguments(arguments)
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(OnLine))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(OnLine));

        int exitCode;
        bool timedOut = false, cancelled = false;
        progress?.Report(new TrtexecProgress(TrtexecPhase.Starting, TimeSpan.Zero, ""));
        using var stopHeartbeat = new CancellationTokenSource();
        var heartbeat = progress is null ? Task.CompletedTask : Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(heartbeatInterval);
            try
            {
                while (await timer.WaitForNextTickAsync(stopHeartbeat.Token))
                {
                    TrtexecProgress beat;
                    lock (gate)
                    {
                        beat = new TrtexecProgress(phase, clock.Elapsed, lastLine) { Heartbeat = true };
                    }

                    progress.Report(beat);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        try
        {
            var result = await command.ExecuteAsync(forceful.Token, graceful.Token);
            exitCode = result.ExitCode;
        }
        catch (OperationCanceledException)
        {
            exitCode = -1;
            timedOut = timeoutCts.IsCancellationRequested && !ct.IsCancellationRequested;
            cancelled = !timedOut;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new OnnxTrtForge.Core.Ir.ForgeInputException($"{executable}: cannot be started ({e.Message})", e);
        }
        finally
        {
            await stopHeartbeat.CancelAsync();
            await heartbeat;
        }

        lock (gate)
        {
            log.Flush();
            return new TrtexecRun(exitCode, timedOut, cancelled, clock.Elapsed, logPath, tail.ToArray()) { Arguments = arguments };
        }
    }
}
