using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Turns Constant nodes into initializers of the graph that holds them (every <c>value*</c> form:
/// value, value_float(s), value_int(s), value_string(s)). The initializer keeps the Constant's output
/// name. A sparse constant, and a Constant whose output is a graph output, stay.
/// </summary>
public sealed class ConstantLiftingPass : IGraphPass
{
    public string Name => "lift-constants";

    public PassResult Run(Model model)
    {
        var scope = new GraphScope(model.Graph);
        long lifted = 0, skipped = 0;
        foreach (var graph in scope.Graphs)
        {
            var liftedNodes = new HashSet<Node>();
            foreach (var node in graph.Nodes.Where(n => n.Is("Constant")).ToList())
            {
                var output = node.Outputs.Count == 1 ? node.Outputs[0] : null;
                var tensor = ToTensor(node);
                if (output is null || tensor is null || scope.IsAnyGraphOutput(output))
                {
                    skipped++;
                    continue;
                }

                var name = output.Name;
                output.Name = graph.Names.Fresh(name + "_lifted");
                var value = graph.AddInitializer(tensor, name);
                value.DocString = output.DocString;
                scope.ReplaceAllUsesWith(output, value);
                liftedNodes.Add(node);
                lifted++;
            }

            // One removal sweep per graph: removing nodes one by one is quadratic in the graph size.
            graph.RemoveAll(liftedNodes);
        }

        var counters = new Dictionary<string, long> { ["lifted"] = lifted };
        if (skipped > 0)
        {
            counters["kept"] = skipped;
        }

        return new PassResult(lifted > 0) { Counters = counters };
    }

    /// <summary>The tensor a Constant node produces, or null for forms it cannot express (sparse, malformed).</summary>
    public static Tensor? ToTensor(Node constant)
    {
        if (constant.Attributes.Count != 1)
        {
            return null;
        }

        var a = constant.Attributes.GetAt(0).Value;
        return (a.Name, a.Type) switch
        {
            ("value", AttributeType.Tensor) when a.T is not null => a.T,
            ("value_float", AttributeType.Float) => Tensor.FromFloats([], [a.F]),
            ("value_floats", AttributeType.Floats) => Tensor.FromFloats([a.Floats.Count], [.. a.Floats]),
            ("value_int", AttributeType.Int) => Tensor.FromInt64s([], [a.I]),
            ("value_ints", AttributeType.Ints) => Tensor.FromInt64s([a.Ints.Count], [.. a.Ints]),
            ("value_string", AttributeType.String) => new Tensor([], [a.S]),
            ("value_strings", AttributeType.Strings) => new Tensor([a.Strings.Count], a.Strings),
            _ => null,
        };
    }
}
