using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Evaluation;

/// <summary>What an evaluator sees: the node, its inputs as host tensors (null for omitted optional inputs), the opset.</summary>
public sealed record EvaluationContext(Node Node, IReadOnlyList<HostTensor?> Inputs, long Opset)
{
    public HostTensor Input(int index) => Inputs[index] ?? throw new InvalidOperationException($"{Node}: input {index} is missing");

    public HostTensor? OptionalInput(int index) => index < Inputs.Count ? Inputs[index] : null;

    public long[]? ConstantInts(int index) => OptionalInput(index)?.AsLongs();
}

/// <summary>Computes a node's outputs from constant inputs; returns null when it cannot (unsupported attribute or type).</summary>
public delegate IReadOnlyList<HostTensor>? OpEvaluator(EvaluationContext context);

/// <summary>
/// Evaluators keyed by (domain, op type). Built once and read-only afterwards; the default set
/// covers the ops found in constant subgraphs of exporter output (shape chains, casts, arithmetic).
/// </summary>
public sealed class OpEvaluatorRegistry
{
    private readonly Dictionary<(string Domain, string OpType), OpEvaluator> evaluators;

    public OpEvaluatorRegistry(IEnumerable<KeyValuePair<(string Domain, string OpType), OpEvaluator>> entries)
    {
        evaluators = new Dictionary<(string, string), OpEvaluator>(entries);
    }

    public static OpEvaluatorRegistry CreateDefault()
    {
        var entries = new List<KeyValuePair<(string, string), OpEvaluator>>();
        foreach (var (op, evaluator) in ElementwiseEvaluators.All().Concat(TensorEvaluators.All()))
        {
            entries.Add(new(("", op), evaluator));
        }

        return new OpEvaluatorRegistry(entries);
    }

    public IEnumerable<(string Domain, string OpType)> Keys => evaluators.Keys;

    public bool Contains(string domain, string opType) => evaluators.ContainsKey((Normalize(domain), opType));

    /// <summary>The default bound on the bytes one evaluation may produce (<c>--max-fold-bytes</c>).</summary>
    public const long DefaultMaxOutputBytes = 64L << 20;

    /// <summary>
    /// Evaluates the node, or returns null when no evaluator knows it, its outputs would exceed
    /// <paramref name="maxOutputBytes"/> (sized from the input dims in checked arithmetic before anything is
    /// computed), the inputs lie outside what the evaluator matches ONNX Runtime on bit for bit
    /// (<see cref="EvaluationClaims"/>), or the evaluator declines.
    /// </summary>
    public IReadOnlyList<HostTensor>? Evaluate(Node node, IReadOnlyList<HostTensor?> inputs, long opset, long maxOutputBytes = DefaultMaxOutputBytes)
    {
        if (!evaluators.TryGetValue((Normalize(node.Domain), node.OpType), out var evaluator))
        {
            return null;
        }

        try
        {
            var context = new EvaluationContext(node, inputs, opset);
            if (!EvaluationClaims.Allow(context, maxOutputBytes))
            {
                return null;
            }

            var results = evaluator(context);
            return results is not null && results.Any(r => r.Dims.Any(d => d < 0) || r.ByteCount > maxOutputBytes) ? null : results;
        }
        catch (ArithmeticException)
        {
            // overflow or division by zero on these values: left to the runtime
            return null;
        }
        catch (ArgumentException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
        catch (IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static string Normalize(string domain) => domain == "ai.onnx" ? "" : domain;
}
