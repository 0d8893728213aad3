using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Removes Casts that cannot change a value: casts to the input's own type, and round trips
/// A→B→A whose first step is exact (fp16→fp32→fp16 is, fp32→fp16→fp32 is not; int→float→int only
/// where the float holds every integer of the source type). A chain A→B→C whose first step is exact
/// becomes a single A→C cast. A Cast of a small initializer becomes the converted initializer.
/// </summary>
public sealed class CastCleanupPass : IGraphPass
{
    public string Name => "remove-redundant-casts";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        long sameType = 0, roundTrips = 0, merged = 0, folded = 0;
        foreach (var node in graph.Nodes.Where(n => n.Is("Cast")).ToList())
        {
            if (!ReferenceEquals(node.Graph, graph) || node.Input(0) is not { } input || input.Type?.ElementType is not { } from || from == DataType.Undefined)
            {
                continue;
            }

            var to = (DataType)node.GetInt("to", 0);
            var output = node.Outputs[0];
            if (to != from && GraphEdits.SmallConstant(input) is { } constant && HostTensor.Supports(to) && !graph.Outputs.Contains(output))
            {
                // A Cast of a small initializer is the converted initializer.
                var converted = graph.AddInitializer(ElementwiseEvaluators.Convert(constant, to).ToTensor(), output.Name);
                GraphEdits.Bypass(graph, node, output, converted);
                if (input.Uses.Count == 0 && !input.IsGraphInput && !graph.Outputs.Contains(input))
                {
                    graph.RemoveInitializer(input);
                }

                folded++;
                continue;
            }

            if (to == from)
            {
                if (GraphEdits.Bypass(graph, node, output, input))
                {
                    sameType++;
                }

                continue;
            }

            // node is the first cast of a chain: look at the casts that read it.
            if (!IsExact(from, to))
            {
                continue;
            }

            foreach (var use in output.Uses.ToList())
            {
                var next = use.Node;
                if (!next.Is("Cast") || graph.Outputs.Contains(next.Outputs[0]))
                {
                    continue;
                }

                var final = (DataType)next.GetInt("to", 0);
                if (final == from)
                {
                    next.Outputs[0].ReplaceAllUsesWith(input, graph);
                    graph.Remove(next);
                    roundTrips++;
                }
                else
                {
                    next.SetInput(0, input);
                    merged++;
                }
            }

            GraphEdits.RemoveIfDead(graph, node);
        }

        var total = sameType + roundTrips + merged + folded;
        return new PassResult(total > 0)
        {
            Counters = new Dictionary<string, long> { ["same-type"] = sameType, ["round-trips"] = roundTrips, ["chains-merged"] = merged, ["initializers-converted"] = folded },
        };
    }

    /// <summary>True when every value of <paramref name="from"/> converts to <paramref name="to"/> without change.</summary>
    public static bool IsExact(DataType from, DataType to)
    {
        if (from == to)
        {
            return true;
        }

        return from switch
        {
            DataType.Float16 or DataType.BFloat16 => to is DataType.Float or DataType.Double,
            DataType.Float => to is DataType.Double,
            DataType.Bool => to is not DataType.String and not DataType.Undefined,
            DataType.Int8 => to is DataType.Int16 or DataType.Int32 or DataType.Int64 or DataType.Float16 or DataType.BFloat16 or DataType.Float or DataType.Double,
            DataType.UInt8 => to is DataType.Int16 or DataType.UInt16 or DataType.Int32 or DataType.UInt32 or DataType.Int64 or DataType.UInt64 or DataType.Float16 or DataType.BFloat16 or DataType.Float or DataType.Double,
            DataType.Int16 => to is DataType.Int32 or DataType.Int64 or DataType.Float or DataType.Double,
            DataType.UInt16 => to is DataType.Int32 or DataType.UInt32 or DataType.Int64 or DataType.UInt64 or DataType.Float or DataType.Double,
            DataType.Int32 => to is DataType.Int64 or DataType.Double,
            DataType.UInt32 => to is DataType.Int64 or DataType.UInt64 or DataType.Double,
            _ => false,
        };
    }
}
