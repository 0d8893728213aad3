using OnnxTrtForge.Core;

namespace OnnxTrtForge.TensorRt;

/// <summary>What every engine build reports, success or not.</summary>
public abstract record EngineBuildResult
{
    public required string OnnxPath { get; init; }

    public required string EnginePath { get; init; }

    public required TrtexecTool Tool { get; init; }

    public required GpuInfo Gpu { get; init; }

    public EngineCacheKey? CacheKey { get; init; }

    public string? LogPath { get; init; }

    public IReadOnlyList<string> LogTail { get; init; } = [];

    public IReadOnlyList<string> Arguments { get; init; } = [];

    public TimeSpan Elapsed { get; init; }

    /// <summary>The engine came from a stand-in (test double): its banner or log said so.</summary>
    public bool StandIn { get; init; }

    /// <summary>What the reader should know: a stale cache entry that was rebuilt, say.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

public sealed record EngineBuildSuccess : EngineBuildResult
{
    public bool CacheHit { get; init; }

    public double? BuildSeconds { get; init; }

    public double? EngineSizeMiB { get; init; }

    public long EngineBytes { get; init; }

    public string? TimingCachePath { get; init; }

    public LayerInfo? LayerInfo { get; init; }
}

public sealed record EngineBuildFailure : EngineBuildResult
{
    public required FailureReason Reason { get; init; }
}

/// <summary>What a benchmark run reports.</summary>
public abstract record BenchResult
{
    public required string EnginePath { get; init; }

    public required TrtexecTool Tool { get; init; }

    public string? LogPath { get; init; }

    public IReadOnlyList<string> LogTail { get; init; } = [];

    public IReadOnlyList<string> Arguments { get; init; } = [];

    public TimeSpan Elapsed { get; init; }

    public bool StandIn { get; init; }
}

public sealed record BenchSuccess : BenchResult
{
    /// <summary>The figures forge reports: recomputed from <c>--exportTimes</c> when trtexec wrote it, else the log's summary.</summary>
    public required PerformanceSummary Summary { get; init; }

    /// <summary>"exportTimes" or "log".</summary>
    public required string Source { get; init; }

    /// <summary>The summary as trtexec printed it (null when the log had none).</summary>
    public PerformanceSummary? LogSummary { get; init; }

    public LayerProfile? Profile { get; init; }
}

public sealed record BenchFailure : BenchResult
{
    public required FailureReason Reason { get; init; }
}

/// <summary>
/// Thrown by <see cref="EngineInference"/> when trtexec cannot run the engine under validation: the candidate
/// failed validation (exit 5; 130 when cancelled).
/// </summary>
public sealed class TrtexecFailedException(FailureReason reason, IReadOnlyList<string> logTail)
    : OnnxTrtForge.Core.Ir.ForgeException(reason.Kind == FailureKind.Cancelled ? OnnxTrtForge.Core.ExitCode.Cancelled : OnnxTrtForge.Core.ExitCode.OutOfTolerance, reason.Message)
{
    public override string Label => $"trtexec could not run the engine ({Reason.Kind.ToString().ToLowerInvariant()})";

    public FailureReason Reason { get; } = reason;

    public IReadOnlyList<string> LogTail { get; } = logTail;
}

public static class EngineExitCodes
{
    /// <summary>0 on success, 130 when cancelled, 4 (engine build failed) for every other failure.</summary>
    public static int Of(FailureReason? reason) => reason switch
    {
        null => ExitCode.Ok,
        { Kind: FailureKind.Cancelled } => ExitCode.Cancelled,
        _ => ExitCode.EngineBuildFailed,
    };

    public static int Of(EngineBuildResult result) => Of((result as EngineBuildFailure)?.Reason);

    public static int Of(BenchResult result) => Of((result as BenchFailure)?.Reason);
}
