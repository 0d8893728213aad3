using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// A model's main graph and every nested subgraph (If/Loop/Scan bodies), taken once per pass run.
/// It knows which values are outputs of some graph, so rewiring keeps subgraph outputs that read an
/// outer value correct too.
/// </summary>
internal sealed class GraphScope
{
    public GraphScope(Graph root)
    {
        Root = root;
        Graphs = All(root).ToList();
    }

    public Graph Root { get; }

    /// <summary>The root first, then subgraphs depth first.</summary>
    public IReadOnlyList<Graph> Graphs { get; }

    public static IEnumerable<Graph> All(Graph graph)
    {
        yield return graph;
        foreach (var node in graph.Nodes)
        {
            foreach (var sub in node.Subgraphs)
            {
                foreach (var g in All(sub))
                {
                    yield return g;
                }
            }
        }
    }

    /// <summary>True when <paramref name="value"/> is an output of any graph in scope.</summary>
    public bool IsAnyGraphOutput(Value value)
    {
        foreach (var g in Graphs)
        {
            if (g.Outputs.Contains(value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every value that is an output of some graph in scope.</summary>
    public HashSet<Value> OutputValues() => Graphs.SelectMany(g => g.Outputs).ToHashSet();

    /// <summary>Rewires every node input and every graph output that reads <paramref name="old"/>.</summary>
    public void ReplaceAllUsesWith(Value old, Value replacement)
    {
        old.ReplaceAllUsesWith(replacement, Root);
        for (var i = 1; i < Graphs.Count; i++)
        {
            Graphs[i].ReplaceOutput(old, replacement);
        }
    }

    /// <summary>Unregisters the uses held by the nodes of <paramref name="node"/>'s subgraphs (before the node leaves).</summary>
    public static void DetachSubgraphs(Node node)
    {
        foreach (var sub in node.Subgraphs)
        {
            foreach (var inner in sub.AllNodes())
            {
                inner.DetachInputs();
            }
        }
    }

    /// <summary>Every node inside <paramref name="node"/>'s subgraphs, recursively.</summary>
    public static IEnumerable<Node> NestedNodes(Node node) => node.Subgraphs.SelectMany(g => g.AllNodes());
}
