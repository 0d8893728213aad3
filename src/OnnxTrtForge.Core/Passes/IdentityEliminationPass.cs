using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Removes Identity nodes. When the Identity's output is a graph output, the producer's value takes
/// over the output's name, so the model's signature is unchanged; an Identity that is the only thing
/// between a graph input (or initializer, or another output) and a graph output stays.
/// </summary>
public sealed class IdentityEliminationPass : IGraphPass
{
    public string Name => "remove-identity";

    public PassResult Run(Model model)
    {
        var scope = new GraphScope(model.Graph);
        long removed = 0, renamed = 0, kept = 0;
        foreach (var graph in scope.Graphs)
        {
            var doomed = new HashSet<Node>();
            foreach (var node in graph.Nodes.Where(n => n.Is("Identity")).ToList())
            {
                var input = node.Input(0);
                var output = node.Outputs[0];
                if (input is null || node.Outputs.Count != 1)
                {
                    continue;
                }

                if (!scope.IsAnyGraphOutput(output))
                {
                    scope.ReplaceAllUsesWith(output, input);
                    doomed.Add(node);
                    removed++;
                }
                else if (CanTakeOverName(graph, scope, input, output))
                {
                    // The producer's output takes the graph output's name; the Identity goes.
                    var name = output.Name;
                    output.Name = graph.Names.Fresh(name + "_identity");
                    scope.ReplaceAllUsesWith(output, input);
                    input.Name = name;
                    if (output.Type is not null)
                    {
                        input.Type = output.Type;
                    }

                    doomed.Add(node);
                    removed++;
                    renamed++;
                }
                else
                {
                    kept++;
                }
            }

            graph.RemoveAll(doomed);
        }

        var counters = new Dictionary<string, long> { ["removed"] = removed, ["renamed-outputs"] = renamed };
        if (kept > 0)
        {
            counters["kept"] = kept;
        }

        return new PassResult(removed > 0) { Counters = counters };
    }

    /// <summary>
    /// The Identity's input may be renamed to the output's name when it is a node output of this same
    /// graph that is not itself an output of any graph (renaming an input, initializer or outer value
    /// would change something else).
    /// </summary>
    private static bool CanTakeOverName(Graph graph, GraphScope scope, Value input, Value output) =>
        input.Producer is { } producer && ReferenceEquals(producer.Graph, graph) && !scope.IsAnyGraphOutput(input)
        && graph.Outputs.Count(o => ReferenceEquals(o, output)) == 1 && scope.Graphs.Count(g => g.Outputs.Contains(output)) == 1;
}
