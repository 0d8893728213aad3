using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Inference;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Infers element types and shapes of node outputs in topological order (main graph), reading small
/// initializers for shape arguments (Reshape targets, axes, Slice bounds) and partly known shape values
/// (Shape of a tensor with a dynamic dim, gathered and concatenated), over symbolic dims. Every declared
/// shape (value_info, graph outputs) is checked against what the graph computes: inference wins, and a
/// declaration that contradicts it is dropped and counted; a conflict in the computation itself (a
/// Reshape that cannot hold its input, shapes that do not broadcast) is bad input (exit 2).
/// </summary>
public sealed class ShapeInferencePass : IGraphPass
{
    /// <summary>Initializers above this many bytes are never read as shape arguments.</summary>
    public const long MaxArgumentBytes = 1 << 16;

    public string Name => "infer-shapes";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        var opset = model.OnnxOpset;
        var order = Graph.TopologicalOrder(graph.Nodes) ?? graph.Nodes.ToList();
        var cache = new Dictionary<Value, HostTensor?>();
        var shapeValues = new ShapeValueTracker();
        long updated = 0;
        long typed = 0;
        var dropped = new List<string>();
        foreach (var node in order)
        {
            var inferred = ShapeInference.Infer(node, v => ConstantOf(v, cache), opset, v => shapeValues.Get(v)?.Elements);
            for (var i = 0; i < inferred.Length; i++)
            {
                var declared = node.Outputs[i].Type;
                var outcome = ShapeInference.Reconcile(node.Outputs[i], inferred[i]);
                updated += outcome == Reconciliation.Unchanged ? 0 : 1;
                if (outcome == Reconciliation.ConflictDropped)
                {
                    dropped.Add($"'{node.Outputs[i].Name}' declared {declared}, computed {node.Outputs[i].Type}");
                }
            }

            shapeValues.Propagate(node, opset);
            typed += node.Outputs.Count(o => o.Type?.HasStaticShape == true);
        }

        return new PassResult(updated > 0)
        {
            Counters = new Dictionary<string, long> { ["values-updated"] = updated, ["outputs-static"] = typed, ["declarations-dropped"] = dropped.Count },
            Notes = dropped.Count == 0 ? [] : [$"{dropped.Count} declared shape(s) contradicted the graph and were dropped (inference wins), e.g. {dropped[0]}"],
        };
    }

    /// <summary>The constant payload of a value that is an initializer of its graph (and not an overridable input).</summary>
    internal static HostTensor? ConstantOf(Value value, Dictionary<Value, HostTensor?> cache)
    {
        if (value.Initializer is not { } tensor || value.IsGraphInput || tensor.ByteLength > MaxArgumentBytes)
        {
            return null;
        }

        if (!cache.TryGetValue(value, out var host))
        {
            host = HostTensor.FromTensor(tensor);
            cache[value] = host;
        }

        return host;
    }
}
