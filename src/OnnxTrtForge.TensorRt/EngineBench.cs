using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>One benchmark of a built engine.</summary>
public sealed record BenchRequest(string EnginePath, BenchOptions Options)
{
    public TimeSpan? Timeout { get; init; }

    /// <summary>Where trtexec's log goes; default <c>ENGINE.bench.log</c> next to the engine.</summary>
    public string? LogPath { get; init; }
}

/// <summary>Times an engine with trtexec and recomputes the latency figures from <c>--exportTimes</c>.</summary>
public sealed class EngineBench(TrtexecTool tool)
{
    public async Task<BenchResult> RunAsync(BenchRequest request, IProgress<TrtexecProgress>? progress, CancellationToken ct)
    {
        var engine = Path.GetFullPath(request.EnginePath);
        if (!File.Exists(engine))
        {
            throw new ForgeInputException($"{request.EnginePath}: engine file not found");
        }

        var work = Directory.CreateTempSubdirectory("forge-bench-");
        try
        {
            var times = Path.Combine(work.FullName, "times.json");
            var profile = request.Options.ExportProfile ? Path.Combine(work.FullName, "profile.json") : null;
            var logPath = Path.GetFullPath(request.LogPath ?? engine + ".bench.log");
            var args = TrtexecArguments.Bench(tool.Version, engine, request.Options, times, profile);
            var run = await TrtexecRunner.RunAsync(tool.Path, args, logPath, request.Timeout, progress, ct);
            var facts = TrtexecLog.ParseFile(logPath);
            var standIn = tool.IsStandIn || facts.IsStandIn;
            FailureReason? reason = run switch
            {
                { TimedOut: true } => new FailureReason(FailureKind.Timeout, "trtexec did not finish the benchmark in time and was stopped"),
                { Cancelled: true } => new FailureReason(FailureKind.Cancelled, "the benchmark was cancelled and trtexec was stopped"),
                _ when run.ExitCode != 0 || facts.Passed == false => TrtexecFailure.Classify(File.ReadLines(logPath), run.ExitCode),
                _ => null,
            };

            PerformanceSummary? summary = null;
            var source = "log";
            if (reason is null && File.Exists(times))
            {
                var recomputed = TrtexecExports.ReadTimes(times);
                if (recomputed.Queries > 0)
                {
                    summary = recomputed with
                    {
                        ThroughputQps = facts.Summary?.ThroughputQps ?? recomputed.ThroughputQps,
                        Warnings = facts.Summary?.Warnings ?? [],
                    };
                    source = "exportTimes";
                }
            }

            summary ??= facts.Summary;
            if (reason is null && summary is null)
            {
                reason = new FailureReason(FailureKind.Failed, "trtexec printed no performance summary and wrote no --exportTimes");
            }

            if (reason is not null)
            {
                return new BenchFailure { EnginePath = engine, Tool = tool, LogPath = logPath, LogTail = TrtexecRunner.FailureTail(run), Arguments = args, Elapsed = run.Elapsed, StandIn = standIn, Reason = reason };
            }

            return new BenchSuccess
            {
                EnginePath = engine,
                Tool = tool,
                LogPath = logPath,
                LogTail = run.Tail,
                Arguments = args,
                Elapsed = run.Elapsed,
                StandIn = standIn,
                Summary = summary!,
                Source = source,
                LogSummary = facts.Summary,
                Profile = profile is not null && File.Exists(profile) ? TrtexecExports.ReadProfile(profile) : null,
            };
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
