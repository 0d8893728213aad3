using System.Diagnostics;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>What one run of one pass did, measured by the <see cref="PassManager"/> around the pass.</summary>
public sealed record PassRecord
{
    public required string Pass { get; init; }

    /// <summary>The stage (0-based) of the pipeline the pass ran in.</summary>
    public required int Stage { get; init; }

    /// <summary>The fixed-point iteration (1-based; 1 for one-shot stages).</summary>
    public required int Iteration { get; init; }

    public required double Milliseconds { get; init; }

    public required bool Modified { get; init; }

    public required int NodesBefore { get; init; }

    public required int NodesAfter { get; init; }

    public required int InitializersBefore { get; init; }

    public required int InitializersAfter { get; init; }

    /// <summary>Op type → change of its count (only the ops whose count changed).</summary>
    public required IReadOnlyDictionary<string, int> CensusDelta { get; init; }

    public IReadOnlyDictionary<string, long> Counters { get; init; } = new Dictionary<string, long>();

    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>One stage of a pipeline: passes run once in order, or repeated until none changes the model.</summary>
public sealed record PipelineStage(IReadOnlyList<string> Passes, bool FixedPoint)
{
    public static PipelineStage Once(params string[] passes) => new(passes, false);

    public static PipelineStage UntilFixedPoint(params string[] passes) => new(passes, true);
}

/// <summary>
/// Runs passes in sequence or to a fixed point. It is the one instrument of the optimizer: it takes
/// the op census and the time around every pass, so passes themselves only say what they did.
/// </summary>
/// <param name="maxIterations">Most iterations of a fixed-point run.</param>
/// <param name="afterEachPass">Called after every pass (for example a structural check that names the pass that broke the graph).</param>
/// <param name="progress">Told every pass's record as soon as it ran (a command shows them live).</param>
public sealed class PassManager(int maxIterations = 10, Action<Model, IGraphPass>? afterEachPass = null, IProgress<PassRecord>? progress = null)
{
    public int MaxIterations { get; } = maxIterations >= 1 ? maxIterations : throw new ArgumentOutOfRangeException(nameof(maxIterations), "at least one iteration");

    /// <summary>Runs every pass once, in order.</summary>
    public IReadOnlyList<PassRecord> RunSequence(Model model, IReadOnlyList<IGraphPass> passes, int stage = 0, CancellationToken cancellationToken = default)
    {
        var records = new List<PassRecord>(passes.Count);
        foreach (var pass in passes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            records.Add(Run(model, pass, stage, 1));
        }

        return records;
    }

    /// <summary>Repeats the passes in order until an iteration changes nothing or <see cref="MaxIterations"/> is reached.</summary>
    public IReadOnlyList<PassRecord> RunToFixedPoint(Model model, IReadOnlyList<IGraphPass> passes, int stage = 0, CancellationToken cancellationToken = default)
    {
        var records = new List<PassRecord>();
        for (var iteration = 1; iteration <= MaxIterations; iteration++)
        {
            var modified = false;
            foreach (var pass in passes)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var record = Run(model, pass, stage, iteration);
                records.Add(record);
                modified |= record.Modified;
            }

            if (!modified)
            {
                break;
            }
        }

        return records;
    }

    private PassRecord Run(Model model, IGraphPass pass, int stage, int iteration)
    {
        var record = RunOne(model, pass, stage, iteration);
        afterEachPass?.Invoke(model, pass);
        progress?.Report(record);
        return record;
    }

    /// <summary>Runs one pass with the census and a stopwatch around it.</summary>
    public static PassRecord RunOne(Model model, IGraphPass pass, int stage, int iteration)
    {
        var before = model.Graph.OpCensus();
        var initializersBefore = model.Graph.InitializerCount;
        var clock = Stopwatch.StartNew();
        PassResult result;
        try
        {
            result = pass.Run(model);
        }
        catch (ForgeException)
        {
            // an expected failure already carries its exit code and its one-line message
            throw;
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NullReferenceException or KeyNotFoundException or OverflowException)
        {
            throw new PassFailedException($"pass '{pass.Name}': {e.Message}", e);
        }

        clock.Stop();
        var after = model.Graph.OpCensus();
        return new PassRecord
        {
            Pass = pass.Name,
            Stage = stage,
            Iteration = iteration,
            Milliseconds = clock.Elapsed.TotalMilliseconds,
            Modified = result.Modified,
            NodesBefore = before.Values.Sum(),
            NodesAfter = after.Values.Sum(),
            InitializersBefore = initializersBefore,
            InitializersAfter = model.Graph.InitializerCount,
            CensusDelta = Delta(before, after),
            Counters = result.Counters,
            Notes = result.Notes,
        };
    }

    /// <summary>Op → after − before, for the ops whose count changed, sorted by op.</summary>
    public static SortedDictionary<string, int> Delta(IReadOnlyDictionary<string, int> before, IReadOnlyDictionary<string, int> after)
    {
        var delta = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var op in before.Keys.Union(after.Keys))
        {
            var d = after.GetValueOrDefault(op) - before.GetValueOrDefault(op);
            if (d != 0)
            {
                delta[op] = d;
            }
        }

        return delta;
    }
}
