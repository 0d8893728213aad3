using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// Fuses scaled dot-product attention into com.microsoft <c>MultiHeadAttention</c>, which ONNX Runtime's
/// CUDA provider runs with its flash / memory-efficient kernels. The pattern is the head-split form the
/// portable pipeline leaves (<see cref="EinsumHeadSplitPass"/>), self and cross attention alike:
/// <code>
/// Qh [B,S,N,H], Kh [B,L,N,H] → Einsum(bihd,bjhd→bhij) → (Mul|Div by a scalar, Cast)* → Softmax(last axis)
///   → (Cast)* → Einsum(bhij,bjhd→bihd) with Vh [B,L,N,Hv] → [Reshape [B,S,N·Hv]]
/// </code>
/// and the MatMul form of other exporters: <c>MatMul(Transpose(Qh, 0,2,1,3), Transpose(Kh, 0,2,3,1))</c> …
/// <c>MatMul(·, Transpose(Vh, 0,2,1,3))</c> → <c>Transpose(0,2,1,3)</c>.
/// The product of the scalars is the attribute <c>scale</c> (left out when it is ORT's default 1/√H).
/// When Q, K and V are MatMuls of one input by constant weights, their weights are concatenated per head
/// into one MatMul read as packed QKV [B,S,N,3,H]; when K and V are (cross attention), as packed KV
/// [B,L,N,2,H]; otherwise Q, K, V go in as [B,·,N·H]. A candidate that differs anywhere is left as it is,
/// with the reason counted.
/// </summary>
public sealed class AttentionFusionPass(bool packWeights) : IGraphPass
{
    public AttentionFusionPass()
        : this(packWeights: true)
    {
    }

    public string Name => "fuse-attention";

    /// <summary>Pack Q/K/V (or K/V) projections into one MatMul when they allow it (ORT's CPU kernel takes unpacked inputs only).</summary>
    public bool PackWeights { get; } = packWeights;

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var tally = new FusionTally("multi-head-attentions");
        var opset = model.OnnxOpset;
        foreach (var softmax in graph.Nodes.Where(n => n.Is("Softmax")).ToList())
        {
            if (!ReferenceEquals(softmax.Graph, graph))
            {
                continue;
            }

            var match = Match(graph, softmax, opset, out var reason);
            if (match is null)
            {
                tally.Rejected(reason);
                continue;
            }

            Rewrite(graph, match);
            tally.Matched();
        }

        return tally.Result(model);
    }

    private sealed record Attention(
        Node Scores, Node Weighted, List<Node> Chain, Value Q, Value K, Value V, Value Output, long B, long S, long L, long N, long H, long Hv, DataType Type, double Scale);

    private static Attention? Match(Graph graph, Node softmax, long opset, out string reason)
    {
        reason = "";
        var dims = GraphEdits.StaticDims(softmax.Input(0));
        if (dims is not { Length: 4 })
        {
            reason = "softmax input has no static 4-D shape";
            return null;
        }

        var axis = softmax.GetInt("axis", opset >= 13 ? -1 : 1);
        if (axis != 3 && axis != -1)
        {
            reason = "softmax is not over the last axis";
            return null;
        }

        // back from the softmax to the scores: scalar scaling and Casts, each read by the next only
        var chain = new List<Node> { softmax };
        var scale = 1.0;
        var current = softmax.Input(0)!;
        Node? scores = null;
        while (current.Producer is { } producer && GraphEdits.SoleUser(graph, current) is not null)
        {
            if (producer.Is("Einsum") || producer.Is("MatMul"))
            {
                scores = producer;
                break;
            }

            var factor = ScalarFactor(producer, current, out var data);
            if (factor is null)
            {
                break;
            }

            scale *= factor.Value;
            chain.Add(producer);
            current = data!;
        }

        if (scores is null)
        {
            reason = "scores do not come from an Einsum or MatMul through scalar scaling";
            return null;
        }

        // forward from the softmax to the weighted sum of values, through Casts
        var probs = softmax.Outputs[0];
        while (GraphEdits.SoleUser(graph, probs) is { } user && user.Is("Cast"))
        {
            chain.Add(user);
            probs = user.Outputs[0];
        }

        if (GraphEdits.SoleUser(graph, probs) is not { } weighted || weighted.OpType != scores.OpType || !weighted.IsOnnxDomain || !ReferenceEquals(weighted.Input(0), probs))
        {
            reason = $"probabilities are not read by one {scores.OpType} only";
            return null;
        }

        Value? q, k, v, output;
        if (scores.OpType == "Einsum")
        {
            if (!IsScoresEquation(scores.GetString("equation", "")) || !IsWeightedEquation(weighted.GetString("equation", "")))
            {
                reason = "Einsums are not the head-split attention equations (bihd,bjhd->bhij and bhij,bjhd->bihd)";
                return null;
            }

            (q, k, v, output) = (scores.Input(0), scores.Input(1), weighted.Input(1), weighted.Outputs[0]);
        }
        else
        {
            // MatMul form: Q and V read [B,S,N,H] as [B,N,S,H], K as [B,N,H,L]; the output goes back to [B,S,N,Hv]
            q = Transposed(graph, scores.Input(0), [0, 2, 1, 3]);
            k = Transposed(graph, scores.Input(1), [0, 2, 3, 1]);
            v = Transposed(graph, weighted.Input(1), [0, 2, 1, 3]);
            var back = GraphEdits.SoleUser(graph, weighted.Outputs[0]);
            output = back is not null && back.Is("Transpose") && back.GetInts("perm") is { } perm && perm.SequenceEqual([0L, 2, 1, 3]) ? back.Outputs[0] : null;
            if (q is null || k is null || v is null || output is null)
            {
                reason = "MatMuls do not read Q, V as Transpose(0,2,1,3) and K as Transpose(0,2,3,1) of [B,·,N,H], with the output transposed back";
                return null;
            }

            chain.Add(back!);
        }
        if (GraphEdits.StaticDims(q) is not { Length: 4 } qd || GraphEdits.StaticDims(k) is not { Length: 4 } kd || GraphEdits.StaticDims(v) is not { Length: 4 } vd)
        {
            reason = "Q, K or V has no static 4-D shape";
            return null;
        }

        if (qd[0] != kd[0] || qd[0] != vd[0] || qd[2] != kd[2] || qd[2] != vd[2] || qd[3] != kd[3] || kd[1] != vd[1])
        {
            reason = "Q, K and V shapes disagree";
            return null;
        }

        var type = q!.Type!.ElementType;
        if (type is not (DataType.Float or DataType.Float16) || k!.Type?.ElementType != type || v!.Type?.ElementType != type
            || weighted.Outputs[0].Type?.ElementType != type)
        {
            reason = "Q, K, V and output are not all float32 or all float16";
            return null;
        }

        if (graph.Outputs.Contains(scores.Outputs[0]) || chain.Any(n => graph.Outputs.Contains(n.Outputs[0])))
        {
            reason = "an intermediate of the attention is a graph output";
            return null;
        }

        return new Attention(scores, weighted, chain, q, k, v, output, qd[0], qd[1], kd[1], qd[2], qd[3], vd[3], type, scale);
    }

    /// <summary>The input of a Transpose with this perm that produced <paramref name="value"/>, else null.</summary>
    private static Value? Transposed(Graph graph, Value? value, long[] perm) =>
        value?.Producer is { } t && t.Is("Transpose") && t.GetInts("perm") is { } p && p.SequenceEqual(perm) && GraphEdits.SoleUser(graph, value) is not null ? t.Input(0) : null;

    /// <summary>For Mul/Div by a scalar constant or a Cast, the factor it applies (1 for a Cast) and its data input; else null.</summary>
    private static double? ScalarFactor(Node node, Value output, out Value? data)
    {
        data = null;
        if (node.Is("Cast") && node.Outputs[0] == output)
        {
            data = node.Input(0);
            return data?.Type?.ElementType is DataType.Float or DataType.Float16 ? 1.0 : null;
        }

        if (!node.Is("Mul") && !node.Is("Div"))
        {
            return null;
        }

        var scalar1 = Scalar(node.Input(1));
        if (scalar1 is { } s1)
        {
            data = node.Input(0);
            return node.OpType == "Mul" ? s1 : 1.0 / s1;
        }

        if (node.OpType == "Mul" && Scalar(node.Input(0)) is { } s0)
        {
            data = node.Input(1);
            return s0;
        }

        return null;
    }

    private static double? Scalar(Value? value) =>
        GraphEdits.SmallConstant(value) is { Count: 1, Rank: <= 1, IsReal: true } c && c.RealAt(0) is var x && double.IsFinite(x) && x != 0 ? x : null;

    private static (string A, string B, string O)? Equation(string equation)
    {
        var text = equation.Replace(" ", "", StringComparison.Ordinal);
        var arrow = text.Split("->");
        var operands = arrow[0].Split(',');
        return arrow.Length == 2 && operands.Length == 2 && operands.Concat([arrow[1]]).All(o => o.Length == 4 && o.All(char.IsAsciiLetter))
            ? (operands[0], operands[1], arrow[1])
            : null;
    }

    /// <summary>"bihd,bjhd->bhij" up to letter names: batch, query index, head, head dim; key index.</summary>
    private static bool IsScoresEquation(string equation) =>
        Equation(equation) is var (a, b, o) && $"{a}{b[1]}".Distinct().Count() == 5
        && b[0] == a[0] && b[2] == a[2] && b[3] == a[3] && o == $"{a[0]}{a[2]}{a[1]}{b[1]}";

    /// <summary>"bhij,bjhd->bihd" up to letter names.</summary>
    private static bool IsWeightedEquation(string equation) =>
        Equation(equation) is var (p, v, o) && $"{p}{v[3]}".Distinct().Count() == 5
        && v[0] == p[0] && v[1] == p[3] && v[2] == p[1] && o == $"{p[0]}{p[2]}{p[1]}{v[3]}";

    private void Rewrite(Graph graph, Attention a)
    {
        var anchor = a.Weighted;
        Value query;
        Value? key = null, value = null;
        var qSource = Projection(a.Q, a.B, a.S, a.N * a.H);
        var kSource = Projection(a.K, a.B, a.L, a.N * a.H);
        var vSource = Projection(a.V, a.B, a.L, a.N * a.Hv);
        var sameHeadSize = a.H == a.Hv;
        if (PackWeights && sameHeadSize && a.S == a.L && PackedMatMul(graph, [qSource, kSource, vSource], a.N, a.H, anchor) is { } qkv)
        {
            query = Reshape(graph, qkv, [a.B, a.S, a.N, 3, a.H], anchor);
        }
        else
        {
            query = qSource ?? Reshape(graph, a.Q, [a.B, a.S, a.N * a.H], anchor);
            if (PackWeights && sameHeadSize && PackedMatMul(graph, [kSource, vSource], a.N, a.H, anchor) is { } kv)
            {
                key = Reshape(graph, kv, [a.B, a.L, a.N, 2, a.H], anchor);
            }
            else
            {
                key = kSource ?? Reshape(graph, a.K, [a.B, a.L, a.N * a.H], anchor);
                value = vSource ?? Reshape(graph, a.V, [a.B, a.L, a.N * a.Hv], anchor);
            }
        }

        var attributes = new List<Attribute> { Attribute.Int("num_heads", a.N) };
        if (Math.Abs((a.Scale * Math.Sqrt(a.H)) - 1) > 1e-6)
        {
            attributes.Add(Attribute.Float("scale", (float)a.Scale));
        }

        Value?[] inputs = value is not null ? [query, key, value] : key is not null ? [query, key] : [query];
        var mha = graph.Create("MultiHeadAttention", inputs, attributes: attributes, anchor: anchor, domain: OrtCudaFusions.Domain, nameHint: "MultiHeadAttention");
        var merged = mha.Outputs[0];
        merged.Type = TypeInfo.OfTensor(a.Type, [a.B, a.S, a.N * a.Hv]);

        // the merged [B,S,N·Hv] output replaces the Reshape that usually follows; else it is split back
        var output = a.Output;
        if (GraphEdits.SoleUser(graph, output) is { } after && after.Is("Reshape") && GraphEdits.StaticDims(after.Outputs[0]) is { } ad
            && ad.SequenceEqual([a.B, a.S, a.N * a.Hv]))
        {
            OrtCudaFusions.Replace(graph, after.Outputs[0], merged);
            GraphEdits.RemoveIfDead(graph, after);
        }
        else
        {
            var split = Reshape(graph, merged, [a.B, a.S, a.N, a.Hv], anchor);
            OrtCudaFusions.Replace(graph, output, split);
        }

        RemoveDead(graph, [a.Weighted, .. a.Chain, a.Scores]);
    }

    /// <summary>The [B,T,N·H] tensor a head-split input was reshaped from, or null when it was not.</summary>
    private static Value? Projection(Value heads, long b, long t, long width) =>
        heads.Producer is { } p && p.Is("Reshape") && GraphEdits.StaticDims(p.Input(0)) is { } d && d.SequenceEqual([b, t, width]) ? p.Input(0) : null;

    /// <summary>
    /// When every source is <c>MatMul(X, W)</c> of one X with constant 2-D weights of one type, read by its
    /// head-split Reshape only, a MatMul of X by the weights interleaved per head ([D, N·k·H]); else null.
    /// </summary>
    private static Value? PackedMatMul(Graph graph, IReadOnlyList<Value?> sources, long heads, long headSize, Node anchor)
    {
        var matMuls = new List<Node>();
        foreach (var source in sources)
        {
            if (source?.Producer is not { } m || !m.Is("MatMul") || GraphEdits.SoleUser(graph, source) is null
                || m.Input(1) is not { IsInitializer: true, IsGraphInput: false } w || w.Initializer!.Dims is not [_, var cols] || cols != heads * headSize)
            {
                return null;
            }

            matMuls.Add(m);
        }

        var x = matMuls[0].Input(0);
        var first = matMuls[0].Input(1)!.Initializer!;
        if (matMuls.Any(m => !ReferenceEquals(m.Input(0), x) || m.Input(1)!.Initializer!.Type != first.Type || m.Input(1)!.Initializer!.Dims[0] != first.Dims[0]))
        {
            return null;
        }

        var weights = matMuls.Select(m => m.Input(1)!.Initializer!).ToList();
        var packed = InterleaveHeads(weights, heads, headSize);
        var packedWeight = graph.AddInitializer(packed, graph.Names.Fresh(weights.Count == 3 ? "packed_qkv_weight" : "packed_kv_weight"));
        var matMul = graph.Create("MatMul", [x, packedWeight], anchor: anchor, nameHint: weights.Count == 3 ? "PackedQkvMatMul" : "PackedKvMatMul");
        var xDims = GraphEdits.StaticDims(x)!;
        matMul.Outputs[0].Type = TypeInfo.OfTensor(first.Type, [.. xDims[..^1], weights.Count * heads * headSize]);
        return matMul.Outputs[0];
    }

    /// <summary>Columns of k weights [D, N·H] interleaved per head: [D, N, k, H] flattened, the layout MultiHeadAttention reads packed.</summary>
    internal static Tensor InterleaveHeads(IReadOnlyList<Tensor> weights, long heads, long headSize) =>
        new(weights[0].Type, [weights[0].Dims[0], heads * weights.Count * headSize], new InterleavedHeads(weights, heads, headSize));

    private static Value Reshape(Graph graph, Value input, long[] dims, Node anchor)
    {
        var shape = graph.AddInitializer(Tensor.FromInt64s([dims.Length], dims), graph.Names.Fresh("attention_shape"));
        var reshape = graph.Create("Reshape", [input, shape], anchor: anchor, nameHint: "AttentionReshape");
        reshape.Outputs[0].Type = TypeInfo.OfTensor(input.Type!.ElementType, dims);
        return reshape.Outputs[0];
    }

    /// <summary>Removes the nodes that nothing reads any more, repeating until none goes (their producers follow).</summary>
    internal static void RemoveDead(Graph graph, IEnumerable<Node> candidates)
    {
        var pending = new List<Node>(candidates);
        var removed = true;
        while (removed)
        {
            removed = false;
            foreach (var node in pending.ToList())
            {
                var producers = node.Inputs.Select(i => i?.Producer).OfType<Node>().ToList();
                if (GraphEdits.RemoveIfDead(graph, node))
                {
                    pending.Remove(node);
                    pending.AddRange(producers.Where(p => p.Graph is not null && !pending.Contains(p) && IsPure(p)));
                    removed = true;
                }
            }
        }
    }

    /// <summary>Layout and projection nodes that may go once unread (never a node with subgraphs).</summary>
    private static bool IsPure(Node node) => node.IsOnnxDomain && node.OpType is "Reshape" or "MatMul" or "Transpose" or "Cast" or "Mul" or "Div" or "Einsum" or "Softmax";
}
