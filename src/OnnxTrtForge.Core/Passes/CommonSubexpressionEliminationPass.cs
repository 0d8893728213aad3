using System.Runtime.CompilerServices;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Merges nodes that compute the same thing: same op, domain and overload, equal attributes and the
/// very same input values. Walking in topological order merges whole duplicated chains in one run.
/// Nodes with subgraphs, ops the op-schema table does not know as deterministic (random ops, unknown
/// ops), custom-domain ops (unknown semantics) and nodes whose outputs
/// are graph outputs are never merged away.
/// </summary>
public sealed class CommonSubexpressionEliminationPass : IGraphPass
{
    private readonly OpSchemaTable schemas;

    public CommonSubexpressionEliminationPass()
        : this(OpSchemas.Default)
    {
    }

    /// <summary>Reads <paramref name="schemas"/> instead of the default op-schema table (tests).</summary>
    public CommonSubexpressionEliminationPass(OpSchemaTable schemas)
    {
        this.schemas = schemas;
    }

    public string Name => "cse";

    public PassResult Run(Model model)
    {
        var scope = new GraphScope(model.Graph);
        var outputs = scope.OutputValues();
        long merged = 0;
        foreach (var graph in scope.Graphs)
        {
            var order = Graph.TopologicalOrder(graph.Nodes) ?? graph.Nodes.ToList();
            var seen = new Dictionary<int, List<Node>>();
            var doomed = new HashSet<Node>();
            foreach (var node in order)
            {
                if (!Eligible(node, model.OnnxOpset))
                {
                    continue;
                }

                var key = KeyOf(node);
                if (!seen.TryGetValue(key, out var candidates))
                {
                    seen[key] = [node];
                    continue;
                }

                var twin = candidates.FirstOrDefault(c => Same(c, node));
                if (twin is null || node.Outputs.Any(outputs.Contains))
                {
                    candidates.Add(node);
                    continue;
                }

                for (var i = 0; i < node.Outputs.Count; i++)
                {
                    var output = node.Outputs[i];
                    var keep = twin.Outputs[i];
                    if (keep.Type is null && output.Type is not null)
                    {
                        keep.Type = output.Type;
                    }

                    scope.ReplaceAllUsesWith(output, keep);
                }

                doomed.Add(node);
            }

            if (doomed.Count > 0)
            {
                graph.RemoveAll(doomed);
                merged += doomed.Count;
            }
        }

        return new PassResult(merged > 0) { Counters = new Dictionary<string, long> { ["merged"] = merged } };
    }

    /// <summary>An ai.onnx node the op-schema table knows as deterministic at the model's opset; unknown ops are never merged.</summary>
    private bool Eligible(Node node, long opset) =>
        node.IsOnnxDomain && node.Outputs.Count > 0 && schemas.Find(node, opset)?.Deterministic == true
        && !node.Attributes.Values.Any(a => a.Type is AttributeType.Graph or AttributeType.Graphs);

    private static int KeyOf(Node node)
    {
        var h = new HashCode();
        h.Add(node.OpType);
        h.Add(node.Overload);
        h.Add(node.Outputs.Count);
        foreach (var input in node.Inputs)
        {
            h.Add(input is null ? 0 : RuntimeHelpers.GetHashCode(input));
        }

        foreach (var (name, a) in node.Attributes)
        {
            h.Add(name);
            h.Add(a.Type);
            h.Add(a.I);
            h.Add(a.F);
        }

        return h.ToHashCode();
    }

    private static bool Same(Node a, Node b)
    {
        if (a.Domain != b.Domain || a.OpType != b.OpType || a.Overload != b.Overload || a.Outputs.Count != b.Outputs.Count
            || a.Inputs.Count != b.Inputs.Count || a.Attributes.Count != b.Attributes.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Inputs.Count; i++)
        {
            if (!ReferenceEquals(a.Inputs[i], b.Inputs[i]))
            {
                return false;
            }
        }

        foreach (var (name, x) in a.Attributes)
        {
            if (!b.Attributes.TryGetValue(name, out var y) || !SameAttribute(x, y))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameAttribute(Ir.Attribute x, Ir.Attribute y) =>
        x.Type == y.Type && x.I == y.I && BitConverter.SingleToInt32Bits(x.F) == BitConverter.SingleToInt32Bits(y.F)
        && x.S.AsSpan().SequenceEqual(y.S) && x.Ints.SequenceEqual(y.Ints)
        && x.Floats.Select(BitConverter.SingleToInt32Bits).SequenceEqual(y.Floats.Select(BitConverter.SingleToInt32Bits))
        && x.Strings.Count == y.Strings.Count && x.Strings.Zip(y.Strings).All(p => p.First.AsSpan().SequenceEqual(p.Second))
        && SameTensor(x.T, y.T) && x.Tensors.Count == y.Tensors.Count && x.Tensors.Zip(y.Tensors).All(p => SameTensor(p.First, p.Second))
        && x.TypeInfos.SequenceEqual(y.TypeInfos) && x.SparseTensors.Count == 0 && y.SparseTensors.Count == 0 && x.RefAttrName == y.RefAttrName;

    private static bool SameTensor(Tensor? x, Tensor? y) =>
        x is null ? y is null
        : y is not null && x.Type == y.Type && x.Dims.AsSpan().SequenceEqual(y.Dims) && x.Data.Span.SequenceEqual(y.Data.Span)
          && (x.Strings is null ? y.Strings is null : y.Strings is not null && x.Strings.Count == y.Strings.Count && x.Strings.Zip(y.Strings).All(p => p.First.AsSpan().SequenceEqual(p.Second)));
}
