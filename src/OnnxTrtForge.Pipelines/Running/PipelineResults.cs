namespace OnnxTrtForge.Pipelines.Running;

/// <summary>What a stage tells the progress display.</summary>
public enum PipelineEventKind
{
    StageStarted,
    Progress,
    Note,
    StageFinished,
}

/// <summary>
/// One event of a run's progress stream: a stage started or finished, a phase or step of long work
/// (optimizing, engine build phases, denoising steps), or a note. <see cref="Fraction"/> is set when the
/// amount of work is known.
/// </summary>
public sealed record PipelineEvent(RunStage Stage, PipelineEventKind Kind, string Message)
{
    /// <summary>Time since the stage started.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Share of the stage done, 0..1, when known.</summary>
    public double? Fraction { get; init; }

    /// <summary>On <see cref="PipelineEventKind.StageFinished"/>: whether every gate of the stage passed.</summary>
    public bool? Passed { get; init; }
}

public enum GateStatus
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>
/// A pass/fail decision of the run (one JUnit test case): the optimize check, the fp16 check, the engine
/// build, the validation tolerance. <see cref="ExitCode"/> is what the run exits with if this is the first
/// gate that failed.
/// </summary>
public sealed record GateResult
{
    public required string Name { get; init; }

    public required RunStage Stage { get; init; }

    public required GateStatus Status { get; init; }

    public int ExitCode { get; init; }

    public required string Message { get; init; }

    public double Seconds { get; init; }

    /// <summary>The figures the decision rests on, formatted (rel L2, tolerance, build time, cache hit...).</summary>
    public IReadOnlyDictionary<string, string> Figures { get; init; } = new Dictionary<string, string>();
}

/// <summary>An output file of the run.</summary>
public sealed record Artifact(string Name, string Path, long Bytes);

/// <summary>What <c>forge run</c> did: every gate, every artifact, the exit code.</summary>
public sealed record PipelineRunResult
{
    public required string Pipeline { get; init; }

    public required string File { get; init; }

    public required string OutDirectory { get; init; }

    public required DateTimeOffset Started { get; init; }

    public required double Seconds { get; init; }

    public required int ExitCode { get; init; }

    public required IReadOnlyList<RunStage> Stages { get; init; }

    public required IReadOnlyList<GateResult> Gates { get; init; }

    public required IReadOnlyList<Artifact> Artifacts { get; init; }

    /// <summary>Things worth reading (stand-in trtexec, skipped passes, reused artifacts).</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>Per-stage details for report.json (optimizer census, build figures, validation steps).</summary>
    public required IReadOnlyDictionary<string, object> Details { get; init; }

    public bool Passed => ExitCode == 0;
}
