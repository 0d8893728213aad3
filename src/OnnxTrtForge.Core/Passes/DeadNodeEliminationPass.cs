using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Removes nodes none of whose outputs is read (by a node, a subgraph or a graph output). A node
/// without outputs stays when it is in a custom domain (it may exist for a side effect) and goes when
/// it is a standard ONNX op (which then computes nothing anyone can see).
/// </summary>
public sealed class DeadNodeEliminationPass : IGraphPass
{
    public string Name => "remove-dead-nodes";

    public PassResult Run(Model model)
    {
        var scope = new GraphScope(model.Graph);
        var outputs = scope.OutputValues();
        long removed = 0;

        // Outer graphs first: removing a node that owns subgraphs releases the outer values they read.
        var changed = true;
        while (changed)
        {
            changed = false;
            foreach (var graph in GraphScope.All(model.Graph).ToList())
            {
                var doomed = Sweep(graph, outputs);
                if (doomed.Count == 0)
                {
                    continue;
                }

                foreach (var node in doomed)
                {
                    GraphScope.DetachSubgraphs(node);
                }

                graph.RemoveAll(doomed);
                removed += doomed.Count;
                changed = true;
            }
        }

        return new PassResult(removed > 0) { Counters = new Dictionary<string, long> { ["removed"] = removed } };
    }

    /// <summary>One backward sweep: a node is dead when every use of its outputs is by dead nodes (or their subgraphs).</summary>
    private static HashSet<Node> Sweep(Graph graph, HashSet<Value> outputs)
    {
        var doomed = new HashSet<Node>();
        var deadReaders = new HashSet<Node>();
        for (var i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (node.Outputs.Count == 0 && !node.IsOnnxDomain)
            {
                continue;
            }

            var dead = true;
            foreach (var output in node.Outputs)
            {
                if (outputs.Contains(output) || output.Uses.Any(u => !deadReaders.Contains(u.Node)))
                {
                    dead = false;
                    break;
                }
            }

            if (dead)
            {
                doomed.Add(node);
                deadReaders.Add(node);
                deadReaders.UnionWith(GraphScope.NestedNodes(node));
            }
        }

        return doomed;
    }
}
