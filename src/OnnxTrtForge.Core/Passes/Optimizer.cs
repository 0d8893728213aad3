using System.Diagnostics;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fp16;

namespace OnnxTrtForge.Core.Passes;

/// <summary>What <c>forge optimize</c> should do.</summary>
public sealed record OptimizeOptions
{
    /// <summary>Pass names to run once, in this order; null runs <see cref="PassRegistry.DefaultPipeline"/>.</summary>
    public IReadOnlyList<string>? Passes { get; init; }

    /// <summary>Rewrite rule names for the <c>rewrite-rules</c> pass; null selects every known rule.</summary>
    public IReadOnlyList<string>? Rules { get; init; }

    /// <summary>Most iterations of a fixed-point stage.</summary>
    public int MaxIterations { get; init; } = 10;

    /// <summary>Constant folding never produces a single tensor larger than this many bytes.</summary>
    public long FoldOutputLimitBytes { get; init; } = 1L << 20;

    /// <summary>Constant folding never grows the model's weights by more than this many bytes in total.</summary>
    public long MaxWeightGrowthBytes { get; init; } = 16L << 20;

    /// <summary>Constant folding never evaluates a node whose outputs (sized from its input dims) exceed this many bytes (<c>--max-fold-bytes</c>).</summary>
    public long MaxFoldBytes { get; init; } = Evaluation.OpEvaluatorRegistry.DefaultMaxOutputBytes;

    /// <summary>Run the structural <see cref="GraphValidator"/> on the result (failure: <see cref="PassFailedException"/>).</summary>
    public bool Validate { get; init; } = true;

    /// <summary>Run the <see cref="GraphValidator"/> after every pass, so a failure names the pass that broke the graph.</summary>
    public bool ValidateEveryPass { get; init; }

    /// <summary>
    /// Static shapes for graph inputs (name → dims); when set, the pipeline starts with
    /// <c>fix-input-shapes</c>, so exports with dynamic axes fold like static ones.
    /// </summary>
    public IReadOnlyDictionary<string, long[]>? InputShapes { get; init; }

    /// <summary>
    /// The runtime to prepare for: the stages of <see cref="PassRegistry.TargetPipeline"/> follow the
    /// portable pipeline (or <see cref="Passes"/>), before <c>to-fp16</c>: fusions see the float32 graph
    /// and the fp16 planner knows the contrib ops' type rules.
    /// </summary>
    public OptimizeTarget Target { get; init; } = OptimizeTarget.Portable;

    /// <summary>Options of <c>to-fp16</c>; when set, the pipeline ends with <see cref="PassRegistry.Fp16Stage"/> unless <see cref="Passes"/> places <c>to-fp16</c>.</summary>
    public Fp16Options? Fp16 { get; init; }

    /// <summary>Told every pass's record as it finishes (null: silent). Only a command prints it.</summary>
    public IProgress<PassRecord>? Progress { get; init; }
}

/// <summary>Size figures of a model: nodes (subgraphs included), initializers, weight bytes and op census.</summary>
public sealed record ModelStats(int Nodes, int Initializers, long WeightBytes, IReadOnlyDictionary<string, int> OpCensus)
{
    public static ModelStats Of(Model model)
    {
        var census = model.Graph.OpCensus();
        return new ModelStats(census.Values.Sum(), model.Graph.InitializerCount, model.Graph.Initializers.Sum(v => v.Initializer!.ByteLength), census);
    }
}

/// <summary>What the optimizer did: the model before and after, and every pass run with its time and counts.</summary>
public sealed record OptimizeReport
{
    public required ModelStats Before { get; init; }

    public required ModelStats After { get; init; }

    public required IReadOnlyList<PassRecord> Passes { get; init; }

    public required double TotalMilliseconds { get; init; }

    /// <summary>Notes worth the user's attention (unknown ATen operators, skipped passes), de-duplicated.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    public string? ModelPath { get; init; }

    public string? OutputPath { get; init; }
}

/// <summary>
/// The one optimize service: <c>forge optimize</c> and the optimize stage of a pipeline both call it with an
/// <see cref="OptimizeOptions"/>, and every pass, <c>to-fp16</c> included, runs inside its <see cref="PassManager"/>.
/// </summary>
public static class Optimizer
{
    public static OptimizeReport Optimize(Model model, OptimizeOptions? options = null, PassRegistry? registry = null, CancellationToken cancellationToken = default)
    {
        options ??= new OptimizeOptions();
        registry ??= PassRegistry.CreateDefault();
        ModelAdmission.Check(model);
        var notes = new List<string>();
        IReadOnlyList<PipelineStage> stages;
        if (options.Passes is { } names)
        {
            foreach (var name in names)
            {
                _ = registry.Create(name, options);
            }

            stages = [PipelineStage.Once([.. names])];
        }
        else
        {
            stages = PassRegistry.DefaultPipeline;
        }

        if (options.InputShapes is { Count: > 0 } && !stages.Any(s => s.Passes.Contains("fix-input-shapes")))
        {
            stages = [PipelineStage.Once("fix-input-shapes"), .. stages];
        }

        stages = [.. stages, .. PassRegistry.TargetPipeline(options.Target)];
        if (options.Fp16 is not null && !stages.Any(s => s.Passes.Contains("to-fp16")))
        {
            // mixed precision comes last, on the simplified graph
            stages = [.. stages, PassRegistry.Fp16Stage];
        }

        var before = ModelStats.Of(model);

        // what the validator says of the input before any pass: a graph that was already invalid is bad input (exit 2),
        // not a pass that failed (exit 3), when the validator refuses the result
        var inputProblem = options.Validate || options.ValidateEveryPass ? InputProblem(model) : null;
        var manager = new PassManager(options.MaxIterations, options.ValidateEveryPass ? (m, p) => ValidateAfter(m, p, inputProblem) : null, options.Progress);
        var records = new List<PassRecord>();
        var clock = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < stages.Count; i++)
            {
                var passes = stages[i].Passes.Where(registry.Contains).Select(n => registry.Create(n, options)).ToList();
                records.AddRange(stages[i].FixedPoint
                    ? manager.RunToFixedPoint(model, passes, i, cancellationToken)
                    : manager.RunSequence(model, passes, i, cancellationToken));
            }
        }
        catch (ForgeInputException e) when (options.InputShapes is { Count: > 0 } pins && e.Message.StartsWith("shape conflict", StringComparison.Ordinal))
        {
            // a pinned shape the graph cannot take: name the pin as well as the node
            var pinned = string.Join(", ", pins.Select(p => $"{p.Key}:{ShapeText.Format(p.Value)}"));
            throw new ForgeInputException($"--input-shape {pinned} contradicts the graph: {e.Message}", e);
        }

        if (options.Validate)
        {
            try
            {
                GraphValidator.Validate(model);
            }
            catch (PassFailedException e) when (inputProblem is not null)
            {
                throw InvalidInput(model, inputProblem, e);
            }
        }

        clock.Stop();
        var seen = new HashSet<string>(notes, StringComparer.Ordinal);
        foreach (var note in records.SelectMany(r => r.Notes))
        {
            if (seen.Add(note))
            {
                notes.Add(note);
            }
        }

        return new OptimizeReport
        {
            Before = before,
            After = ModelStats.Of(model),
            Passes = records,
            TotalMilliseconds = clock.Elapsed.TotalMilliseconds,
            Notes = notes,
            ModelPath = model.SourcePath,
        };
    }

    private static string? InputProblem(Model model)
    {
        try
        {
            GraphValidator.Validate(model);
        }
        catch (ForgeException e)
        {
            // only remembered: the passes may still repair it (a stale annotation dropped, an ATen node rewritten)
            return e.Message;
        }

        // the validator reads declared types only; the end validation reads what the passes inferred: the same
        // element-type inference on the input sees what it will see (admission has refused the conflicts between facts)
        return TypeConsistencyChecker.Check(model).Problems is [var first, ..] ? first : null;
    }

    private static ForgeInputException InvalidInput(Model model, string problem, Exception inner) =>
        new($"{model.SourcePath ?? "model"}: the input is invalid before any pass ran: {problem}", inner);

    private static void ValidateAfter(Model model, IGraphPass pass, string? inputProblem)
    {
        try
        {
            GraphValidator.Validate(model);
        }
        catch (PassFailedException e) when (inputProblem is not null)
        {
            throw InvalidInput(model, inputProblem, e);
        }
        catch (PassFailedException e)
        {
            throw new PassFailedException($"after pass '{pass.Name}': {e.Message}", e);
        }
    }
}
