using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

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
/// The constant-folding evaluators of an op-schema table (<see cref="OpSchemas.Default"/> unless a test gives
/// another), looked up by (domain, op type, opset): the default set covers the ops found in constant subgraphs
/// of exporter output (shape chains, casts, arithmetic).
/// </summary>
public sealed class OpEvaluatorRegistry(OpSchemaTable schemas)
{
    public static OpEvaluatorRegistry CreateDefault() => new(OpSchemas.Default);

    public OpSchemaTable Schemas { get; } = schemas;

    public IEnumerable<(string Domain, string OpType)> Keys => Schemas.All.Where(s => s.Evaluator is not null).Select(s => (s.Domain, s.Name)).Distinct();

    public bool Contains(string domain, string opType) => Schemas.Find(domain, opType, 0)?.Evaluator is not null;

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
        if (Schemas.Find(node, opset) is not { Evaluator: { } evaluator } schema)
        {
            return null;
        }

        try
        {
            var context = new EvaluationContext(node, inputs, opset);
            if (!EvaluationClaims.Allow(context, schema, maxOutputBytes))
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
}
