using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Removes initializers no node, subgraph or graph output reads. An initializer that is also a graph
/// input (a default the caller may override) is part of the signature and stays.
/// </summary>
public sealed class UnusedInitializerRemovalPass : IGraphPass
{
    public string Name => "remove-unused-initializers";

    public PassResult Run(Model model)
    {
        var scope = new GraphScope(model.Graph);
        var outputs = scope.OutputValues();
        long removed = 0, bytes = 0;
        foreach (var graph in scope.Graphs)
        {
            var inputs = graph.Inputs.ToHashSet();
            foreach (var value in graph.Initializers.ToList())
            {
                if (value.Uses.Count == 0 && !outputs.Contains(value) && !inputs.Contains(value))
                {
                    bytes += value.Initializer!.ByteLength;
                    graph.RemoveInitializer(value);
                    removed++;
                }
            }
        }

        return new PassResult(removed > 0) { Counters = new Dictionary<string, long> { ["removed"] = removed, ["bytes"] = bytes } };
    }
}
