using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Inference;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Removes neutral arithmetic: x·1, 1·x, x/1, x+0, 0+x, x−0 and x^1 with a constant whose broadcast
/// leaves x's shape and type unchanged. Merges a chain of constant scalings (x·a)·b, (x·a)/b, (x/a)·b,
/// (x/a)/b into one Mul or Div when the merged constant is exact and one factor is a power of two, so
/// the result is bit-identical (barring overflow and underflow).
/// </summary>
public sealed class ArithmeticSimplificationPass : IGraphPass
{
    public string Name => "simplify-arithmetic";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        long neutral = 0, chains = 0;
        foreach (var node in graph.Nodes.ToList())
        {
            if (!ReferenceEquals(node.Graph, graph) || !node.IsOnnxDomain || node.Inputs.Count != 2)
            {
                continue;
            }

            if (TryRemoveNeutral(graph, node))
            {
                neutral++;
            }
            else if (TryMergeScaling(graph, node))
            {
                chains++;
            }
        }

        return new PassResult(neutral + chains > 0)
        {
            Counters = new Dictionary<string, long> { ["neutral-removed"] = neutral, ["scalings-merged"] = chains },
        };
    }

    private static bool TryRemoveNeutral(Graph graph, Node node)
    {
        var (neutralValue, variableSlots) = node.OpType switch
        {
            "Mul" => (1.0, new[] { 0, 1 }),
            "Add" => (0.0, new[] { 0, 1 }),
            "Div" or "Pow" => (1.0, new[] { 0 }),
            "Sub" => (0.0, new[] { 0 }),
            _ => (double.NaN, Array.Empty<int>()),
        };

        foreach (var slot in variableSlots)
        {
            var x = node.Inputs[slot];
            var c = GraphEdits.SmallConstant(node.Inputs[1 - slot]);
            if (x is null || c is null || !c.AsDoubles().All(v => v == neutralValue))
            {
                continue;
            }

            if (x.Type?.ElementType != c.Type || !GraphEdits.BroadcastKeepsShape(x, c.Dims))
            {
                continue;
            }

            if (GraphEdits.Bypass(graph, node, node.Outputs[0], x))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryMergeScaling(Graph graph, Node outer)
    {
        if (outer.OpType is not ("Mul" or "Div"))
        {
            return false;
        }

        var outerSlot = outer.OpType == "Div" ? 0 : GraphEdits.SmallConstant(outer.Inputs[1]) is not null ? 0 : 1;
        var b = GraphEdits.SmallConstant(outer.Inputs[1 - outerSlot]);
        var mid = outer.Inputs[outerSlot];
        if (b is null || !b.IsReal || b.Count != 1 || mid?.Producer is not { } inner || !inner.IsOnnxDomain || inner.OpType is not ("Mul" or "Div") || GraphEdits.SoleUser(graph, mid) is null)
        {
            return false;
        }

        var innerSlot = inner.OpType == "Div" ? 0 : GraphEdits.SmallConstant(inner.Inputs[1]) is not null ? 0 : 1;
        var a = GraphEdits.SmallConstant(inner.Inputs[1 - innerSlot]);
        var x = inner.Inputs[innerSlot];
        if (a is null || !a.IsReal || a.Count != 1 || a.Type != b.Type || x is null
            || !GraphEdits.BroadcastKeepsShape(x, a.Dims) || !GraphEdits.BroadcastKeepsShape(x, b.Dims))
        {
            return false;
        }

        // Scale factor of each step: multiply by f, where Div by v is multiply by 1/v (exact only for powers of two).
        var fa = inner.OpType == "Mul" ? a.Reals![0] : 1 / a.Reals![0];
        var fb = outer.OpType == "Mul" ? b.Reals![0] : 1 / b.Reals![0];
        var innerExact = inner.OpType == "Mul" || IsPowerOfTwo(a.Reals![0]);
        var outerExact = outer.OpType == "Mul" || IsPowerOfTwo(b.Reals![0]);
        var product = fa * fb;
        if (!innerExact || !outerExact || !(IsPowerOfTwo(fa) || IsPowerOfTwo(fb)) || HostTensor.Round(a.Type, product) != product || product == 0 || double.IsInfinity(product))
        {
            return false;
        }

        // Rewrite the outer node in place (its output, possibly a graph output, keeps its name).
        var constant = graph.AddInitializer(HostTensor.Real(a.Type, a.Rank >= b.Rank ? a.Dims : b.Dims, [product]).ToTensor(), graph.Names.Fresh("scale"));
        var oldConstant = outer.Inputs[1 - outerSlot];
        outer.OpType = "Mul";
        outer.SetInput(0, x);
        outer.SetInput(1, constant);
        if (oldConstant is { IsInitializer: true, Uses.Count: 0 } && !graph.Outputs.Contains(oldConstant) && !oldConstant.IsGraphInput)
        {
            graph.RemoveInitializer(oldConstant);
        }

        GraphEdits.RemoveIfDead(graph, inner);
        return true;
    }

    private static bool IsPowerOfTwo(double v)
    {
        if (v == 0 || double.IsNaN(v) || double.IsInfinity(v))
        {
            return false;
        }

        var m = Math.Abs(v);
        return Math.Abs(Math.Pow(2, Math.Round(Math.Log2(m))) - m) == 0;
    }
}
