using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// Removes the layout transposes the channels-last fusions leave between each other (to a fixed point):
/// <list type="bullet">
/// <item>a Transpose of a Transpose becomes one Transpose of the first input, or nothing when the perms cancel;</item>
/// <item>two identical Transposes of one value become one;</item>
/// <item>the Transposes feeding an elementwise op (Add, Sub, Mul, Div, Sigmoid, Cast, ...) or a Concat move
/// below it when that leaves fewer transposes (see <see cref="Push"/>): other operands are the same Transpose
/// of something, a constant (permuted here), a [N,C,1,1] tensor (read as [N,1,1,C] by a Reshape), or get the
/// inverse Transpose. So the NHWC→NCHW transpose after an NhwcConv goes past the time-embedding Add, the
/// residual Adds and the skip Concats and meets the NCHW→NHWC transposes before the next GroupNorm or
/// NhwcConv, and both go.</item>
/// </list>
/// </summary>
public sealed class TransposeOptimizationPass : IGraphPass
{
    private static readonly HashSet<string> Elementwise = new(StringComparer.Ordinal) { "Add", "Sub", "Mul", "Div", "Sigmoid", "Relu", "Tanh", "Erf", "Cast", "Neg", "Sqrt" };

    public string Name => "cancel-transposes";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var before = graph.Nodes.Count(n => n.Is("Transpose"));
        long cancelled = 0, merged = 0, pushed = 0, deduplicated = 0;
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var node in graph.Nodes.ToList())
            {
                if (node.Graph is null)
                {
                    continue;
                }

                if (node.Is("Transpose"))
                {
                    var collapsed = Collapse(graph, node);
                    cancelled += collapsed == 1 ? 1 : 0;
                    merged += collapsed == 2 ? 1 : 0;
                    if (collapsed == 0 && Deduplicate(graph, node))
                    {
                        deduplicated++;
                        collapsed = 3;
                    }

                    changed |= collapsed != 0;
                }
                else if (Push(graph, node))
                {
                    pushed++;
                    changed = true;
                }
            }
        }

        var after = graph.Nodes.Count(n => n.Is("Transpose"));
        return new PassResult(cancelled + merged + pushed > 0)
        {
            Counters = new Dictionary<string, long>
            {
                ["transposes-before"] = before,
                ["transposes-after"] = after,
                ["pairs-cancelled"] = cancelled,
                ["pairs-merged"] = merged,
                ["pushed-below-elementwise"] = pushed,
                ["duplicates-merged"] = deduplicated,
            },
        };
    }

    private static long[]? Perm(Node transpose) => transpose.GetInts("perm")?.ToArray();

    /// <summary>Transpose(Transpose(x)): 1 when the two cancel (readers now read x), 2 when merged into one; else 0.</summary>
    private static int Collapse(Graph graph, Node outer)
    {
        if (outer.Input(0)?.Producer is not { } inner || !inner.Is("Transpose") || Perm(inner) is not { } p1 || Perm(outer) is not { } p2 || p1.Length != p2.Length)
        {
            return 0;
        }

        var composed = p2.Select(i => p1[i]).ToArray();
        var source = inner.Input(0)!;
        if (composed.Select((v, i) => v == i).All(b => b))
        {
            if (graph.Outputs.Contains(outer.Outputs[0]) && (graph.Outputs.Contains(source) || source.IsGraphInput || source.IsInitializer))
            {
                return 0;
            }

            OrtCudaFusions.Replace(graph, outer.Outputs[0], source);
            GraphEdits.RemoveIfDead(graph, outer);
            GraphEdits.RemoveIfDead(graph, inner);
            return 1;
        }

        outer.SetInput(0, source);
        outer.Attributes["perm"] = Attribute.IntList("perm", composed);
        GraphEdits.RemoveIfDead(graph, inner);
        return 2;
    }

    /// <summary>
    /// Moves the Transposes feeding an elementwise op or Concat below it when that leaves fewer transposes:
    /// the operand transposes read by this op only go, and so do the inverse transposes that read its
    /// output; one transpose is added below it if anything else reads the output, and one per operand that
    /// is neither the same transpose, a small constant nor a [N,C,1,1] tensor.
    /// </summary>
    private static bool Push(Graph graph, Node op)
    {
        if (!op.IsOnnxDomain || !(Elementwise.Contains(op.OpType) || op.OpType == "Concat") || op.Outputs.Count != 1
            || GraphEdits.StaticDims(op.Outputs[0]) is not { Length: 4 } outDims || op.Outputs[0].Type is null
            || op.Inputs.FirstOrDefault(i => i?.Producer is { } t && t.Is("Transpose") && Perm(t) is { Length: 4 })?.Producer is not { } first)
        {
            return false;
        }

        var perm = Perm(first)!;
        var inverse = new long[4];
        for (var i = 0; i < 4; i++)
        {
            inverse[perm[i]] = i;
        }

        // what each operand becomes in the transposed frame, and what that costs
        var removed = 0;
        var inserted = 0;
        var transposed = new List<Node>();
        var plan = new List<Func<Value?>>();
        foreach (var input in op.Inputs)
        {
            if (input is null)
            {
                plan.Add(() => null);
                continue;
            }

            if (input.Producer is { } t && t.Is("Transpose") && Perm(t) is { } p && p.SequenceEqual(perm))
            {
                if (!transposed.Contains(t))
                {
                    transposed.Add(t);
                    removed += t.Outputs[0].Uses.All(u => ReferenceEquals(u.Node, op)) && !graph.Outputs.Contains(t.Outputs[0]) ? 1 : 0;
                }

                var source = t.Input(0)!;
                plan.Add(() => source);
                continue;
            }

            if (op.OpType != "Concat" && GraphEdits.SmallConstant(input) is { } constant && constant.Rank <= 4)
            {
                // broadcast operand: pad to rank 4, then permute like the data
                var padded = Enumerable.Repeat(1L, 4 - constant.Rank).Concat(constant.Dims).ToArray();
                var permuted = Permute(constant.WithDims(padded), inverse);
                plan.Add(() => graph.AddInitializer(permuted.ToTensor(), graph.Names.Fresh(input.Name + "_nhwc")));
                continue;
            }

            if (GraphEdits.StaticDims(input) is not { Length: 4 } d)
            {
                return false;
            }

            if (op.OpType != "Concat" && d[2] == 1 && d[3] == 1 && perm.SequenceEqual([0L, 3, 1, 2]))
            {
                // [N,C,1,1] holds the same bytes as [N,1,1,C]
                plan.Add(() => Reshape(graph, input, [d[0], 1, 1, d[1]], op));
                continue;
            }

            inserted++;
            var dims = inverse.Select(i => d[i]).ToArray();
            plan.Add(() => TransposeOf(graph, input, inverse, dims, op));
        }

        var output = op.Outputs[0];
        var inverseUsers = output.Uses.Select(u => u.Node).Where(n => n.Is("Transpose") && Perm(n) is { } np && np.SequenceEqual(inverse)).Distinct().Count();
        var keepsTranspose = graph.Outputs.Contains(output) || output.Uses.Any(u => !(u.Node.Is("Transpose") && Perm(u.Node) is { } np && np.SequenceEqual(inverse)));
        if (removed + inverseUsers - (keepsTranspose ? 1 : 0) - inserted <= 0)
        {
            return false;
        }

        var inputs = plan.Select(make => make()).ToList();
        var attributes = op.Attributes.Values.ToList();
        if (op.OpType == "Concat")
        {
            var axis = op.GetInt("axis", 0);
            attributes = [Attribute.Int("axis", perm[(int)(axis < 0 ? axis + 4 : axis)])];
        }

        var moved = graph.Create(op.OpType, inputs, attributes: attributes, anchor: op, nameHint: op.OpType);
        moved.Outputs[0].Type = TypeInfo.OfTensor(output.Type!.ElementType, inverse.Select(i => outDims[i]).ToArray());
        var back = TransposeOf(graph, moved.Outputs[0], perm, outDims, op);
        OrtCudaFusions.Replace(graph, output, back);
        graph.Remove(op);
        AttentionFusionPass.RemoveDead(graph, transposed);
        return true;
    }

    /// <summary>Makes the later of two identical Transposes of one value read the first one's output.</summary>
    private static bool Deduplicate(Graph graph, Node transpose)
    {
        var twin = transpose.Input(0)!.Uses.Select(u => u.Node)
            .FirstOrDefault(n => !ReferenceEquals(n, transpose) && n.Is("Transpose") && Perm(n) is { } p && Perm(transpose) is { } q && p.SequenceEqual(q));
        if (twin is null || graph.Outputs.Contains(transpose.Outputs[0]) || Position(graph, twin) > Position(graph, transpose))
        {
            return false;
        }

        transpose.Outputs[0].ReplaceAllUsesWith(twin.Outputs[0], graph);
        graph.Remove(transpose);
        return true;
    }

    /// <summary>out[i] = in[inverse[i]] for a rank-4 host tensor: the constant as the transposed frame sees it.</summary>
    private static HostTensor Permute(HostTensor t, long[] inverse)
    {
        var dims = inverse.Select(i => t.Dims[i]).ToArray();
        var strides = new long[4];
        strides[3] = 1;
        for (var i = 2; i >= 0; i--)
        {
            strides[i] = strides[i + 1] * t.Dims[i + 1];
        }

        var values = t.AsDoubles();
        var result = new double[values.Length];
        var k = 0;
        for (long a = 0; a < dims[0]; a++)
        {
            for (long b = 0; b < dims[1]; b++)
            {
                for (long c = 0; c < dims[2]; c++)
                {
                    for (long d = 0; d < dims[3]; d++)
                    {
                        long[] index = [a, b, c, d];
                        long offset = 0;
                        for (var i = 0; i < 4; i++)
                        {
                            offset += index[i] * strides[inverse[i]];
                        }

                        result[k++] = values[offset];
                    }
                }
            }
        }

        return HostTensor.Real(t.Type, dims, result);
    }

    private static int Position(Graph graph, Node node)
    {
        for (var i = 0; i < graph.Nodes.Count; i++)
        {
            if (ReferenceEquals(graph.Nodes[i], node))
            {
                return i;
            }
        }

        return -1;
    }

    private static Value TransposeOf(Graph graph, Value input, long[] perm, long[] dims, Node anchor)
    {
        var node = graph.Create("Transpose", [input], attributes: [Attribute.IntList("perm", perm)], anchor: anchor, nameHint: "Transpose");
        node.Outputs[0].Type = TypeInfo.OfTensor(input.Type!.ElementType, dims);
        return node.Outputs[0];
    }

    private static Value Reshape(Graph graph, Value input, long[] dims, Node anchor)
    {
        var shape = graph.AddInitializer(Tensor.FromInt64s([dims.Length], dims), graph.Names.Fresh("nhwc_shape"));
        var reshape = graph.Create("Reshape", [input, shape], anchor: anchor, nameHint: "NhwcReshape");
        reshape.Outputs[0].Type = TypeInfo.OfTensor(input.Type!.ElementType, dims);
        return reshape.Outputs[0];
    }
}
