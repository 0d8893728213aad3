using System.Diagnostics;
using System.Globalization;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>What the stages of one run share: the pipeline, where artifacts go, and what has been decided so far.</summary>
internal sealed class RunContext(LoadedPipeline pipeline, IProgress<PipelineEvent>? progress)
{
    private Stopwatch _stageClock = Stopwatch.StartNew();

    public LoadedPipeline Pipeline { get; } = pipeline;

    public string Out => Pipeline.OutDirectory;

    public List<GateResult> Gates { get; } = [];

    public List<string> Notes { get; } = [];

    public Dictionary<string, object> Details { get; } = new(StringComparer.Ordinal);

    /// <summary>The model the next stage takes: the pipeline's model, then the optimized one, then the fp16 one.</summary>
    public string CurrentModel { get; set; } = pipeline.Spec.Model.FullPath;

    /// <summary>The engine the validate stage compares, when one was built (now or by an earlier run).</summary>
    public string? Engine { get; set; }

    /// <summary>The ONNX model the engine was built from (its input names and types are the engine's).</summary>
    public string? EngineSource { get; set; }

    /// <summary>trtexec found by the build stage (the validate stage runs the engine with it).</summary>
    public string? Trtexec { get; set; } = pipeline.Trtexec;

    /// <summary>Where the checks run ONNX Runtime (<see cref="PipelineRunOptions.CheckRunner"/>); null: in this process.</summary>
    public Validation.IOptimizeCheckRunner? CheckRunner { get; init; }

    public string ArtifactPath(string name) => Path.Combine(Out, name);

    public void StartStage(RunStage stage, string message)
    {
        _stageClock = Stopwatch.StartNew();
        progress?.Report(new PipelineEvent(stage, PipelineEventKind.StageStarted, message));
    }

    public void FinishStage(RunStage stage, bool passed, string message) =>
        progress?.Report(new PipelineEvent(stage, PipelineEventKind.StageFinished, message) { Elapsed = _stageClock.Elapsed, Passed = passed });

    public void Progress(RunStage stage, string message, double? fraction = null) =>
        progress?.Report(new PipelineEvent(stage, PipelineEventKind.Progress, message) { Elapsed = _stageClock.Elapsed, Fraction = fraction });

    public void Note(RunStage stage, string message)
    {
        Notes.Add(message);
        progress?.Report(new PipelineEvent(stage, PipelineEventKind.Note, message) { Elapsed = _stageClock.Elapsed });
    }

    public GateResult Gate(string name, RunStage stage, bool passed, int failCode, string message, Stopwatch clock, Dictionary<string, string>? figures = null)
    {
        var gate = new GateResult
        {
            Name = name,
            Stage = stage,
            Status = passed ? GateStatus.Passed : GateStatus.Failed,
            ExitCode = passed ? 0 : failCode,
            Message = message,
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            Figures = figures ?? [],
        };
        Gates.Add(gate);
        return gate;
    }

    public static string Sci(double value) => value.ToString("0.###e+0", CultureInfo.InvariantCulture);

    public static string Num(double value, string format = "0.###") => value.ToString(format, CultureInfo.InvariantCulture);
}
