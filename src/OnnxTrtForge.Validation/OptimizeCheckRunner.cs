namespace OnnxTrtForge.Validation;

/// <summary>
/// Where <see cref="OptimizeCheck"/> runs. ONNX Runtime is native code loaded into the calling process, and on some
/// malformed models it aborts that whole process (SIGABRT), which no <c>catch</c> can stop. The forge executable
/// therefore runs each check in a child process (<see cref="ChildProcessCheckRunner"/>); library callers and tests
/// run it in process (<see cref="InProcessCheckRunner"/>). Both give the same result and throw the same exceptions.
/// </summary>
public interface IOptimizeCheckRunner
{
    OptimizeCheckResult Run(string originalPath, string optimizedPath, OptimizeCheckOptions options, CancellationToken cancellationToken = default);
}

/// <summary>The steps of <see cref="OptimizeCheck.Run"/> in which ONNX Runtime works on one model or the other.</summary>
public enum CheckPhase
{
    /// <summary>Opening a session on the original model.</summary>
    LoadingOriginal,

    /// <summary>Opening a session on the original after the rewrite rules (the original did not load).</summary>
    LoadingRewrittenOriginal,

    /// <summary>Running the original model on the input sets.</summary>
    RunningReference,

    /// <summary>Running the original after the rewrite rules (the reference when the original did not load) on the input sets.</summary>
    RunningRewrittenOriginal,

    /// <summary>Opening a session on the optimized model.</summary>
    LoadingOptimized,

    /// <summary>Running the optimized model on the input sets.</summary>
    RunningOptimized,
}

/// <summary>What a phase means for the outcome: the original's phases are the input's fault (exit 2), the optimized model's the passes' (exit 3).</summary>
public static class CheckPhases
{
    public static bool IsOriginal(this CheckPhase phase) => phase < CheckPhase.LoadingOptimized;

    /// <summary>"loading the original model FILE", as a failure message says it.</summary>
    public static string Describe(this CheckPhase phase, string originalPath, string optimizedPath) => phase switch
    {
        CheckPhase.LoadingOriginal => $"loading the original model {originalPath}",
        CheckPhase.LoadingRewrittenOriginal => $"loading the original model {originalPath} after the rewrite rules",
        CheckPhase.RunningReference => $"running the original model {originalPath}",
        CheckPhase.RunningRewrittenOriginal => $"running the original model {originalPath} after the rewrite rules",
        CheckPhase.LoadingOptimized => $"loading the optimized model {optimizedPath}",
        _ => $"running the optimized model {optimizedPath}",
    };

    /// <summary>The kebab-case name the check process reports (and the test seam names).</summary>
    public static string Name(this CheckPhase phase) => phase switch
    {
        CheckPhase.LoadingOriginal => "loading-original",
        CheckPhase.LoadingRewrittenOriginal => "loading-rewritten-original",
        CheckPhase.RunningReference => "running-reference",
        CheckPhase.RunningRewrittenOriginal => "running-rewritten-original",
        CheckPhase.LoadingOptimized => "loading-optimized",
        _ => "running-optimized",
    };

    public static bool TryParse(string name, out CheckPhase phase)
    {
        foreach (var candidate in Enum.GetValues<CheckPhase>())
        {
            if (candidate.Name() == name)
            {
                phase = candidate;
                return true;
            }
        }

        phase = default;
        return false;
    }
}

/// <summary>The check in the calling process: what library callers, the fuzzer and the tests use.</summary>
public sealed class InProcessCheckRunner : IOptimizeCheckRunner
{
    private InProcessCheckRunner()
    {
    }

    public static InProcessCheckRunner Instance { get; } = new();

    public OptimizeCheckResult Run(string originalPath, string optimizedPath, OptimizeCheckOptions options, CancellationToken cancellationToken = default) =>
        OptimizeCheck.Run(originalPath, optimizedPath, options, null, cancellationToken);
}
