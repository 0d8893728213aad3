using System.Diagnostics;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.TensorRt;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>How to run a loaded pipeline.</summary>
public sealed record PipelineRunOptions
{
    /// <summary>GPU name and compute capability for the engine cache key; null: <c>nvidia-smi</c>.</summary>
    public IGpuProbe? GpuProbe { get; init; }

    /// <summary>Environment lookup (<c>GITHUB_STEP_SUMMARY</c>); the process environment by default.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Where the optimize-check and fp16-check gates run ONNX Runtime: in this process by default; the forge executable runs them in a child process.</summary>
    public Validation.IOptimizeCheckRunner? CheckRunner { get; init; }
}

/// <summary>
/// Runs the stages of a validated pipeline in order (optimize → fp16 → build → validate) into one
/// artifact folder, stops at the first failed gate (later gates are reported as skipped), and always
/// writes the reports: <c>report.json</c>, <c>report.md</c> (also appended to <c>$GITHUB_STEP_SUMMARY</c>)
/// and <c>junit.xml</c> with one test case per gate. The exit code is the first failed gate's.
/// </summary>
public static class PipelineRunner
{
    public static async Task<PipelineRunResult> RunAsync(LoadedPipeline pipeline, IProgress<PipelineEvent>? progress, PipelineRunOptions? options = null, CancellationToken ct = default)
    {
        options ??= new PipelineRunOptions();
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(pipeline.OutDirectory);
        var ctx = new RunContext(pipeline, progress) { CheckRunner = options.CheckRunner };
        Reuse(ctx);
        var cancelled = false;
        foreach (var stage in pipeline.Stages)
        {
            if (cancelled || ctx.Gates.Any(g => g.Status == GateStatus.Failed))
            {
                Skip(ctx, stage, cancelled ? "cancelled" : "an earlier gate failed");
                continue;
            }

            var stageClock = Stopwatch.StartNew();
            ctx.StartStage(stage, Describe(stage, ctx));
            var before = ctx.Gates.Count;
            try
            {
                switch (stage)
                {
                    case RunStage.Optimize:
                        await Task.Run(() => OptimizeStage.Run(ctx, pipeline.Spec.Optimize!, ct), ct);
                        break;
                    case RunStage.Build:
                        await BuildStage.RunAsync(ctx, pipeline.Spec.Build!, options.GpuProbe ?? new NvidiaSmiGpuProbe(), ct);
                        break;
                    case RunStage.Validate:
                        await ValidateStage.RunAsync(ctx, pipeline.Spec.Validate!, ct);
                        break;
                }
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                Fail(ctx, stage, before, ExitCode.Cancelled, "cancelled", stageClock);
            }
            catch (ForgeException e)
            {
                // one mapping for every expected failure: the exception carries its exit code (2, 3, 5, 130)
                Fail(ctx, stage, before, e.ExitCode, e is ForgeInputException ? e.Message : $"{e.Label}: {e.Message}", stageClock);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Fail(ctx, stage, before, ExitCode.Unexpected, $"unexpected error: {e.GetType().Name}: {e.Message}", stageClock);
            }

            var stageGates = ctx.Gates.Skip(before).ToList();
            var passed = stageGates.All(g => g.Status != GateStatus.Failed);
            ctx.FinishStage(stage, passed, passed
                ? string.Join("; ", stageGates.Select(g => $"{g.Name}: {g.Message}").DefaultIfEmpty("done"))
                : stageGates.First(g => g.Status == GateStatus.Failed).Message);
        }

        var failed = ctx.Gates.FirstOrDefault(g => g.Status == GateStatus.Failed);
        var result = new PipelineRunResult
        {
            Pipeline = pipeline.Name,
            File = pipeline.File,
            OutDirectory = pipeline.OutDirectory,
            Started = started,
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            ExitCode = failed?.ExitCode ?? ExitCode.Ok,
            Stages = pipeline.Stages,
            Gates = ctx.Gates,
            Artifacts = [],
            Notes = ctx.Notes,
            Details = ctx.Details,
        };
        return PipelineReports.Write(result, pipeline, options.Environment);
    }

    /// <summary>The gates a stage would decide, for the skipped entries of the report.</summary>
    public static IReadOnlyList<string> GatesOf(LoadedPipeline pipeline, RunStage stage) => stage switch
    {
        RunStage.Optimize => [.. OptimizeStage.Gates(pipeline.Spec.Optimize!)],
        RunStage.Build => ["build"],
        _ => ["validation"],
    };

    /// <summary>Artifacts of an earlier run stand in for the stages that are not run now (<c>--only</c>).</summary>
    private static void Reuse(RunContext ctx)
    {
        var spec = ctx.Pipeline.Spec;
        var stages = ctx.Pipeline.Stages;
        if (spec.Optimize is { } optimize && !stages.Contains(RunStage.Optimize))
        {
            foreach (var name in new[] { optimize.Fp16?.Output, optimize.Output })
            {
                if (name is not null && File.Exists(ctx.ArtifactPath(name)))
                {
                    ctx.CurrentModel = ctx.ArtifactPath(name);
                    ctx.Notes.Add($"optimize not run: using {ctx.CurrentModel} from an earlier run");
                    break;
                }
            }
        }

        if (spec.Build is { } build && !stages.Contains(RunStage.Build) && File.Exists(ctx.ArtifactPath(build.Engine)))
        {
            ctx.Engine = ctx.ArtifactPath(build.Engine);
            ctx.Notes.Add($"build not run: using {ctx.Engine} from an earlier run");
        }
    }

    private static string Describe(RunStage stage, RunContext ctx) => stage switch
    {
        RunStage.Optimize => $"optimize {Path.GetFileName(ctx.CurrentModel)}" + (ctx.Pipeline.Spec.Optimize!.Fp16 is null ? "" : " → fp16"),
        RunStage.Build => $"build {ctx.Pipeline.Spec.Build!.Engine} ({Yaml.SpecBinder.EnumName(ctx.Pipeline.Spec.Build.Precision)})",
        _ => $"validate {ctx.Pipeline.Spec.Validate!.Steps} {Yaml.SpecBinder.EnumName(ctx.Pipeline.Spec.Validate.Scheduler)} steps",
    };

    private static void Skip(RunContext ctx, RunStage stage, string why)
    {
        foreach (var gate in GatesOf(ctx.Pipeline, stage))
        {
            ctx.Gates.Add(new GateResult { Name = gate, Stage = stage, Status = GateStatus.Skipped, Message = "skipped: " + why });
        }
    }

    /// <summary>A stage that threw: its first undecided gate fails with the error, the others are skipped.</summary>
    private static void Fail(RunContext ctx, RunStage stage, int gatesBefore, int exitCode, string message, Stopwatch clock)
    {
        var decided = ctx.Gates.Skip(gatesBefore).Select(g => g.Name).ToHashSet(StringComparer.Ordinal);
        var pending = GatesOf(ctx.Pipeline, stage).Where(g => !decided.Contains(g)).ToList();
        if (pending.Count == 0 && ctx.Gates.Skip(gatesBefore).Any(g => g.Status == GateStatus.Failed))
        {
            return;
        }

        var name = pending.FirstOrDefault() ?? stage.ToString().ToLowerInvariant();
        ctx.Gate(name, stage, false, exitCode, message, clock);
        foreach (var rest in pending.Skip(1))
        {
            ctx.Gates.Add(new GateResult { Name = rest, Stage = stage, Status = GateStatus.Skipped, Message = "skipped: " + name + " failed" });
        }
    }
}
