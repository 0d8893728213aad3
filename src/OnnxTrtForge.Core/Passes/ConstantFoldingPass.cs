using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Inference;

namespace OnnxTrtForge.Core.Passes;

/// <summary>Size limits for constant folding.</summary>
/// <param name="MaxOutputBytes">
/// Never fold an output larger than this. 1 MiB: exporter shape chains and scalar arithmetic produce
/// bytes to kilobytes, while anything bigger is a transformed weight (a Cast, Expand or Reshape of a
/// parameter) whose folding would duplicate weights in the file for no runtime gain worth the bytes.
/// </param>
/// <param name="MaxInputBytes">Never read a constant input larger than this into host memory.</param>
/// <param name="MaxGrowthFraction">
/// The folded bytes added, net of the constant inputs they make unused, may not exceed this fraction
/// of the model's original weight bytes (or <paramref name="MinGrowthBytes"/>, whichever is larger).
/// </param>
/// <param name="MinGrowthBytes">Growth always allowed, so tiny models still get their shape chains folded.</param>
/// <param name="MaxGrowthBytes">An absolute cap on the net growth, whatever the model's size.</param>
/// <param name="MaxEvaluationBytes">
/// The most bytes one evaluation may produce (<c>--max-fold-bytes</c>), sized from the input dims in checked
/// arithmetic before anything is computed: a ConstantOfShape of a huge or overflowing shape is never evaluated.
/// </param>
public sealed record ConstantFoldingOptions(
    long MaxOutputBytes = 1 << 20,
    long MaxInputBytes = 16 << 20,
    double MaxGrowthFraction = 0.01,
    long MinGrowthBytes = 1 << 20,
    long MaxGrowthBytes = long.MaxValue,
    long MaxEvaluationBytes = OpEvaluatorRegistry.DefaultMaxOutputBytes);

/// <summary>
/// Folds nodes whose inputs are all constants (initializers) through the op-keyed evaluator registry,
/// and nodes whose outputs follow from static shapes alone (Shape, Size). Shapes are inferred as it goes,
/// so shape chains collapse in one sweep. Never folds random ops, ops of other domains, nodes with
/// subgraphs, graph outputs, or outputs over the size limits. What is deterministic and what has an
/// evaluator is the op-schema table's (<see cref="Ops.OpSchemas"/>). Inputs left unused are dropped.
/// </summary>
public sealed class ConstantFoldingPass : IGraphPass
{
    private readonly OpEvaluatorRegistry registry;
    private readonly ConstantFoldingOptions options;

    public ConstantFoldingPass(ConstantFoldingOptions? options = null, OpEvaluatorRegistry? registry = null)
    {
        this.options = options ?? new ConstantFoldingOptions();
        this.registry = registry ?? OpEvaluatorRegistry.CreateDefault();
    }

    private const long CacheLimitBytes = 64 << 10;

    public string Name => "fold-constants";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var opset = model.OnnxOpset;
        var originalWeights = graph.Initializers.Sum(v => v.Initializer!.ByteLength);
        var budget = Math.Min(options.MaxGrowthBytes, Math.Max(options.MinGrowthBytes, (long)(options.MaxGrowthFraction * originalWeights)));
        var cache = new Dictionary<Value, HostTensor?>();
        var shapeValues = new ShapeValueTracker();
        var order = Graph.TopologicalOrder(graph.Nodes) ?? graph.Nodes.ToList();
        long folded = 0, growth = 0, skippedSize = 0, removedInputs = 0;
        var notes = new List<string>();
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var node in order)
        {
            if (!ReferenceEquals(node.Graph, graph))
            {
                continue;
            }

            // An Identity of a constant is an alias: rewire without reading (weights can be gigabytes).
            if (node.Is("Identity") && node.Input(0) is { IsInitializer: true, IsGraphInput: false } aliased && !graph.Outputs.Contains(node.Outputs[0]))
            {
                node.Outputs[0].ReplaceAllUsesWith(aliased, graph);
                graph.Remove(node);
                folded++;
                continue;
            }

            var results = TryEvaluate(node, opset, cache, missing);
            if (results is null && shapeValues.Propagate(node, opset) is { Complete: true } partial && node.Outputs[0].Type?.ElementType is null or DataType.Int64)
            {
                // Shape math on partly known shapes (a dynamic batch, say) that only reads known dims.
                results = [partial.ToHost()];
            }

            if (results is null || results.Count != node.Outputs.Count || node.Outputs.Any(graph.Outputs.Contains))
            {
                InferTypes(node, opset, cache, shapeValues);
                continue;
            }

            var added = results.Sum(r => r.ByteCount);
            var freed = node.Inputs.OfType<Value>().Distinct().Where(v => v.IsInitializer && !v.IsGraphInput && v.Uses.All(u => ReferenceEquals(u.Node, node)) && !graph.Outputs.Contains(v)).Sum(v => v.Initializer!.ByteLength);
            if (results.Any(r => r.ByteCount > options.MaxOutputBytes) || growth + added - freed > budget)
            {
                skippedSize++;
                InferTypes(node, opset, cache, shapeValues);
                continue;
            }

            for (var i = 0; i < results.Count; i++)
            {
                var output = node.Outputs[i];
                var value = graph.AddInitializer(results[i].ToTensor(), output.Name);
                cache[value] = results[i];
                output.ReplaceAllUsesWith(value, graph);
            }

            growth += added - freed;

            var inputs = node.Inputs.OfType<Value>().Distinct().ToList();
            graph.Remove(node);
            folded++;
            foreach (var input in inputs)
            {
                if (input.IsInitializer && !input.IsGraphInput && input.Uses.Count == 0 && !graph.Outputs.Contains(input) && ReferenceEquals(input.OwnerGraph, graph))
                {
                    graph.RemoveInitializer(input);
                    removedInputs++;
                }
            }
        }

        if (missing.Count > 0)
        {
            notes.Add("constant inputs but no evaluator: " + string.Join(", ", missing));
        }

        return new PassResult(folded > 0)
        {
            Counters = new Dictionary<string, long>
            {
                ["folded"] = folded,
                ["skipped-size"] = skippedSize,
                ["bytes-added"] = growth,
                ["initializers-dropped"] = removedInputs,
            },
            Notes = notes,
        };
    }

    private IReadOnlyList<HostTensor>? TryEvaluate(Node node, long opset, Dictionary<Value, HostTensor?> cache, SortedSet<string> missing)
    {
        // the op-schema table says which ops compute the same values every run; others (random ops) never fold
        if (!node.IsOnnxDomain || registry.Schemas.Find(node, opset)?.Deterministic != true || node.Subgraphs.Any())
        {
            return null;
        }

        // dims only a declaration vouches for (inference has not computed them) are never folded into a constant
        if (node.OpType is "Shape" or "Size" && node.Input(0) is { ShapeUnconfirmed: false, Type: { Kind: TypeKind.Tensor, StaticDims: { } dims } })
        {
            return node.OpType == "Shape"
                ? [TensorEvaluators.ShapeOf(dims, node, opset)]
                : [HostTensor.Integer(DataType.Int64, [], [ShapeMath.Product(dims)])];
        }

        // Known static output types tell the size before anything is read or computed.
        foreach (var output in node.Outputs)
        {
            if (output.Type?.StaticDims is { } outDims && (outDims.Any(d => d < 0) || output.Type.ElementType.ByteCount(ShapeMath.Product(outDims)) > options.MaxOutputBytes))
            {
                return null;
            }
        }

        var inputs = new HostTensor?[node.Inputs.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = node.Inputs[i];
            if (input is null)
            {
                continue;
            }

            if (input.Initializer is not { } tensor || input.IsGraphInput || tensor.ByteLength > options.MaxInputBytes)
            {
                return null;
            }

            if (!cache.TryGetValue(input, out var host))
            {
                host = HostTensor.FromTensor(tensor);

                // Keep small constants (shape math) for reuse; large ones are read again if ever needed,
                // so a pass over a UNet never holds its weights in managed memory.
                if (tensor.ByteLength <= CacheLimitBytes)
                {
                    cache[input] = host;
                }
            }

            if (host is null)
            {
                return null;
            }

            inputs[i] = host;
        }

        if (!registry.Contains(node.Domain, node.OpType))
        {
            missing.Add(node.OpType);
            return null;
        }

        return registry.Evaluate(node, inputs, opset, options.MaxEvaluationBytes);
    }

    private static void InferTypes(Node node, long opset, Dictionary<Value, HostTensor?> cache, ShapeValueTracker shapeValues)
    {
        var inferred = ShapeInference.Infer(node, v => ShapeInferencePass.ConstantOf(v, cache), opset, v => shapeValues.Get(v)?.Elements);
        for (var i = 0; i < inferred.Length; i++)
        {
            ShapeInference.Merge(node.Outputs[i], inferred[i]);
        }
    }
}
