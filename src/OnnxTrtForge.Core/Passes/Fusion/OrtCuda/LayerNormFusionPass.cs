using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// Fuses layer normalization over the last axis, and the residual Add before it, into
/// com.microsoft <c>SkipLayerNormalization</c>; a norm without a residual Add becomes one
/// <c>LayerNormalization</c> (ONNX Runtime implements it for every opset). Matched forms of y = norm(x):
/// <code>
/// LayerNormalization(x, γ, β, axis=-1)                                                  (opset 17+ exports)
/// ReduceMean(x) → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div → [Mul γ] → [Add β]      (opset 12 exports)
/// </code>
/// optionally inside <c>Cast(float32) … Cast(float16)</c> (the fused op then reads float16). When x is
/// <c>Add(a, b)</c> of two same-shape tensors, it becomes SkipLayerNormalization(a, b, γ, β[, bias]),
/// whose fourth output (a + b + bias) serves the Add's other readers; a is split into MatMul + bias when
/// it is <c>Add(m, bias[H])</c> read by nothing else.
/// </summary>
public sealed class LayerNormFusionPass : IGraphPass
{
    public string Name => "fuse-layer-norm";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var tally = new FusionTally("layer-norms");
        long skip = 0;
        var opset = model.OnnxOpset;
        foreach (var node in graph.Nodes.Where(n => n.Is("ReduceMean") || n.Is("LayerNormalization")).ToList())
        {
            if (!ReferenceEquals(node.Graph, graph))
            {
                continue;
            }

            var match = node.OpType == "LayerNormalization" ? MatchOp(graph, node) : MatchDecomposed(graph, node, opset);
            if (match is null)
            {
                // a ReduceMean that is not the first of a norm (the variance one, or any other) says nothing
                if (node.OpType == "LayerNormalization" || !IsSecondReduce(node))
                {
                    tally.Rejected(node.OpType == "LayerNormalization" ? "LayerNormalization is not over the last axis with constant scale" : "ReduceMean does not start a last-axis layer norm");
                }

                continue;
            }

            skip += Rewrite(graph, match) ? 1 : 0;
            tally.Matched();
        }

        var result = tally.Result(model);
        var counters = new SortedDictionary<string, long>(result.Counters.ToDictionary(), StringComparer.Ordinal) { ["skip-layer-norms"] = skip };
        return result with { Counters = counters };
    }

    private sealed record Norm(Value Input, Value Output, List<Node> Chain, long Width, Value Gamma, Value? Beta, float Epsilon);

    private static bool IsSecondReduce(Node reduce) => reduce.Input(0)?.Producer is { } p && (p.Is("Pow") || p.Is("Mul"));

    private static Norm? MatchOp(Graph graph, Node norm)
    {
        var x = norm.Input(0)!;
        if (GraphEdits.StaticDims(x) is not { Length: >= 2 } d || (norm.GetInt("axis", -1) is var axis && axis != -1 && axis != d.Length - 1)
            || norm.Input(1) is not { IsInitializer: true } gamma || norm.Outputs.Skip(1).Any(o => o.Uses.Count > 0 || graph.Outputs.Contains(o)))
        {
            return null;
        }

        return new Norm(x, norm.Outputs[0], [norm], d[^1], gamma, norm.Input(2), norm.GetFloat("epsilon", 1e-5f));
    }

    private static Norm? MatchDecomposed(Graph graph, Node mean, long opset)
    {
        var x = mean.Input(0)!;
        if (GraphEdits.StaticDims(x) is not { Length: >= 2 } d || !OverLastAxis(mean, d.Length, opset)
            || GraphEdits.SoleUser(graph, mean.Outputs[0]) is not { } sub || !sub.Is("Sub") || !ReferenceEquals(sub.Input(0), x) || !ReferenceEquals(sub.Input(1), mean.Outputs[0]))
        {
            return null;
        }

        var centered = sub.Outputs[0];
        var users = centered.Uses.Select(u => u.Node).Distinct().ToList();
        var square = users.FirstOrDefault(n => (n.Is("Pow") && Scalar(n.Input(1)) == 2) || (n.Is("Mul") && ReferenceEquals(n.Input(0), centered) && ReferenceEquals(n.Input(1), centered)));
        var div = users.FirstOrDefault(n => n.Is("Div") && ReferenceEquals(n.Input(0), centered));
        if (users.Count != 2 || square is null || div is null || graph.Outputs.Contains(centered)
            || GraphEdits.SoleUser(graph, square.Outputs[0]) is not { } variance || !variance.Is("ReduceMean") || !OverLastAxis(variance, d.Length, opset)
            || GraphEdits.SoleUser(graph, variance.Outputs[0]) is not { } addEps || !addEps.Is("Add")
            || Scalar(ReferenceEquals(addEps.Input(0), variance.Outputs[0]) ? addEps.Input(1) : addEps.Input(0)) is not { } epsilon
            || GraphEdits.SoleUser(graph, addEps.Outputs[0]) is not { } sqrt || !sqrt.Is("Sqrt")
            || GraphEdits.SoleUser(graph, sqrt.Outputs[0]) is not { } root || !ReferenceEquals(root, div) || !ReferenceEquals(div.Input(1), sqrt.Outputs[0]))
        {
            return null;
        }

        var width = d[^1];
        var chain = new List<Node> { mean, sub, square, variance, addEps, sqrt, div };
        var result = div.Outputs[0];
        var type = x.Type!.ElementType;
        Value? gamma = null, beta = null;
        if (GraphEdits.SoleUser(graph, result) is { } mul && mul.Is("Mul") && LastAxis(mul, result, width) is { } g)
        {
            gamma = g;
            chain.Add(mul);
            result = mul.Outputs[0];
            if (GraphEdits.SoleUser(graph, result) is { } add && add.Is("Add") && LastAxis(add, result, width) is { } b)
            {
                beta = b;
                chain.Add(add);
                result = add.Outputs[0];
            }
        }

        if (chain.Any(n => n.Outputs.Any(o => o != result && graph.Outputs.Contains(o))))
        {
            return null;
        }

        gamma ??= graph.AddInitializer(HostTensor.Real(type, [width], Enumerable.Repeat(1.0, (int)width).ToArray()).ToTensor(), graph.Names.Fresh("layer_norm_ones"));
        return new Norm(x, result, chain, width, gamma, beta, (float)epsilon);
    }

    private static bool OverLastAxis(Node reduce, int rank, long opset)
    {
        if (reduce.GetInt("keepdims", 1) != 1)
        {
            return false;
        }

        var axes = opset >= 18 ? GraphEdits.SmallConstant(reduce.Input(1))?.AsLongs() : reduce.GetInts("axes")?.ToArray();
        return axes is [var a] && (a == -1 || a == rank - 1);
    }

    private static double? Scalar(Value? value) => GraphEdits.SmallConstant(value) is { Count: 1, IsReal: true } c ? c.RealAt(0) : null;

    /// <summary>The constant operand of a binary node over <paramref name="data"/> when it is one value per last-axis element.</summary>
    private static Value? LastAxis(Node node, Value data, long width)
    {
        var other = ReferenceEquals(node.Input(0), data) ? node.Input(1) : ReferenceEquals(node.Input(1), data) ? node.Input(0) : null;
        return other is { IsInitializer: true, IsGraphInput: false } && other.Initializer!.Dims is var dims && dims.Length >= 1 && dims[^1] == width
            && dims[..^1].All(v => v == 1) && other.Initializer.Type == data.Type?.ElementType ? other : null;
    }

    /// <summary>Writes the fused node; true when it took in a residual Add (SkipLayerNormalization).</summary>
    private static bool Rewrite(Graph graph, Norm norm)
    {
        var anchor = norm.Output.Producer!;
        var x = norm.Input;
        var output = norm.Output;
        var chain = norm.Chain;
        var gamma = norm.Gamma;
        var beta = norm.Beta;

        // float32 norm of a float16 tensor between Casts: normalize the float16 tensor directly
        if (x.Producer is { } castIn && castIn.Is("Cast") && castIn.Input(0)?.Type?.ElementType == DataType.Float16 && x.Type?.ElementType == DataType.Float
            && GraphEdits.SoleUser(graph, output) is { } castOut && castOut.Is("Cast") && castOut.GetInt("to", 0) == (long)DataType.Float16)
        {
            x = castIn.Input(0)!;
            chain = [.. chain, castIn, castOut];
            output = castOut.Outputs[0];
            anchor = castOut;
            gamma = Converted(graph, gamma, DataType.Float16);
            beta = beta is null ? null : Converted(graph, beta, DataType.Float16);
        }

        var type = x.Type!.ElementType;
        var dims = GraphEdits.StaticDims(x)!;
        var attributes = new[] { Attribute.Float("epsilon", norm.Epsilon) };
        Node fused;
        var residual = x.Producer is { } add && add.Is("Add") && GraphEdits.StaticDims(add.Input(0)) is { } a && a.SequenceEqual(dims)
            && GraphEdits.StaticDims(add.Input(1)) is { } b && b.SequenceEqual(dims) && dims.Length == 3 ? add : null;
        if (residual is not null)
        {
            var input = residual.Input(0)!;
            var skip = residual.Input(1)!;
            Value? bias = null;
            foreach (var (candidate, other) in new[] { (input, skip), (skip, input) })
            {
                if (candidate.Producer is { } biasAdd && biasAdd.Is("Add") && GraphEdits.SoleUser(graph, candidate) is not null
                    && BiasOperand(biasAdd, norm.Width, type) is var (data, constant))
                {
                    (input, skip, bias) = (data, other, constant);
                    chain = [.. chain, biasAdd];
                    break;
                }
            }

            var sumUsed = residual.Outputs[0].Uses.Any(u => !chain.Contains(u.Node)) || graph.Outputs.Contains(residual.Outputs[0]);
            var names = sumUsed
                ? new[] { graph.Names.Fresh("SkipLayerNorm_out"), "", "", graph.Names.Fresh("SkipLayerNorm_sum") }
                : [graph.Names.Fresh("SkipLayerNorm_out")];
            fused = new Node(OrtCudaFusions.Domain, "SkipLayerNormalization", [input, skip, gamma, beta, bias], names, attributes, graph.Names.Fresh("SkipLayerNorm"));
            graph.InsertBefore(anchor, fused);
            fused.Outputs[0].Type = TypeInfo.OfTensor(type, dims);
            if (sumUsed)
            {
                fused.Outputs[3].Type = TypeInfo.OfTensor(type, dims);
                OrtCudaFusions.Replace(graph, output, fused.Outputs[0]);
                var sum = residual.Outputs[0];
                foreach (var use in sum.Uses.ToArray())
                {
                    if (!chain.Contains(use.Node) && use.Node.Graph is not null)
                    {
                        use.Node.SetInput(use.Index, fused.Outputs[3]);
                    }
                }

                if (graph.Outputs.Contains(sum))
                {
                    OrtCudaFusions.Replace(graph, sum, fused.Outputs[3]);
                }
            }
            else
            {
                OrtCudaFusions.Replace(graph, output, fused.Outputs[0]);
            }

            chain = [.. chain, residual];
        }
        else
        {
            fused = graph.Create("LayerNormalization", [x, gamma, beta], attributes: [.. attributes, Attribute.Int("axis", -1)], anchor: anchor, nameHint: "LayerNorm");
            fused.Outputs[0].Type = TypeInfo.OfTensor(type, dims);
            OrtCudaFusions.Replace(graph, output, fused.Outputs[0]);
        }

        AttentionFusionPass.RemoveDead(graph, Enumerable.Reverse(chain));
        return residual is not null;
    }

    private static (Value Data, Value Bias)? BiasOperand(Node add, long width, DataType type)
    {
        foreach (var (data, constant) in new[] { (add.Input(0), add.Input(1)), (add.Input(1), add.Input(0)) })
        {
            if (data is not null && constant is { IsInitializer: true, IsGraphInput: false } && constant.Initializer!.Dims is [var w] && w == width
                && constant.Initializer.Type == type && data.Producer is { } p && p.Is("MatMul"))
            {
                return (data, constant);
            }
        }

        return null;
    }

    /// <summary>A small float constant in the given type (γ and β of a float16 norm).</summary>
    private static Value Converted(Graph graph, Value value, DataType type)
    {
        if (value.Initializer!.Type == type)
        {
            return value;
        }

        var host = HostTensor.FromTensor(value.Initializer)!;
        return graph.AddInitializer(HostTensor.Real(type, host.Dims, host.AsDoubles()).ToTensor(), graph.Names.Fresh(value.Name + "_fp16"));
    }
}
