using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Puts every graph's nodes (subgraphs included) in topological order, keeping the current order
/// wherever it is already valid; a cycle is a pass failure naming the graph.
/// </summary>
public sealed class TopologicalSortPass : IGraphPass
{
    public string Name => "topological-sort";

    public PassResult Run(Model model)
    {
        long moved = 0;
        foreach (var graph in GraphScope.All(model.Graph).ToList())
        {
            var order = Graph.TopologicalOrder(graph.Nodes) ?? throw new PassFailedException($"graph '{graph.Name}' has a cycle");
            var changed = 0;
            for (var i = 0; i < order.Count; i++)
            {
                if (!ReferenceEquals(order[i], graph.Nodes[i]))
                {
                    changed++;
                }
            }

            if (changed > 0)
            {
                graph.SortTopologically();
                moved += changed;
            }
        }

        return new PassResult(moved > 0) { Counters = new Dictionary<string, long> { ["moved"] = moved } };
    }
}
