using System.Globalization;
using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Inference;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Collapses shape arithmetic over symbolic dims (a dynamic batch, height, width, sequence) to the
/// simplest exact form. The shape values the exporters compute (Shape → Gather → Unsqueeze → Concat,
/// Div, Mul...) are tracked as vectors of <see cref="DimExpr"/>; then
/// <list type="bullet">
/// <item>a Reshape target becomes a constant: sizes stay, a dim equal to the input's dim at the same
/// position becomes 0 (copy; never with allowzero), and at most one other dim becomes -1 (exact: the
/// element count fixes it); a Reshape whose output shape equals its input shape is removed;</item>
/// <item>an Expand size keeps a 1 wherever the data already has that dim; a size (or a ConstantOfShape
/// shape) still symbolic after that reads only the dims that vary, from one Shape → Gather of a graph
/// input.</item>
/// </list>
/// Every rewrite holds for every value of the symbols (sizes, at least 1). A relation it cannot prove
/// leaves the node and is counted with its reason.
/// </summary>
public sealed class SymbolicShapeFoldingPass : IGraphPass
{
    private const string Hint = "symbolic_shape";

    public string Name => "fold-symbolic-shapes";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var opset = model.OnnxOpset;
        var cache = new Dictionary<Value, HostTensor?>();
        var tracker = new ShapeValueTracker();
        var order = Graph.TopologicalOrder(graph.Nodes) ?? graph.Nodes.ToList();
        long targets = 0, removed = 0, expands = 0, paths = 0, merged = 0, swapped = 0;
        var unproven = new SortedDictionary<string, (long Count, string Example)>(StringComparer.Ordinal);
        void Unproven(string reason, Node node, string detail)
        {
            var (count, example) = unproven.GetValueOrDefault(reason, (0, $"node '{node.Name}': {detail}"));
            unproven[reason] = (count + 1, example);
        }

        foreach (var node in order)
        {
            if (!ReferenceEquals(node.Graph, graph))
            {
                continue;
            }

            Infer(node, opset, cache, tracker);
            tracker.Propagate(node, opset);
            if (!node.IsOnnxDomain)
            {
                continue;
            }

            switch (node.OpType)
            {
                case "Reshape" when node.Input(0) is { } reshaped && node.Input(1) is { } target:
                    var data = reshaped;
                    if (!target.IsInitializer || target.IsGraphInput)
                    {
                        if (tracker.Get(target) is not { Symbolic: true, Scalar: false } value)
                        {
                            Unproven("Reshape target with an unknown element", node, ShapeInference.Format(tracker.Get(target)?.Elements));
                        }
                        else if (ReshapeConstant(node, ShapeInference.KnownSymShape(data), value.Elements, out var why) is { } constant)
                        {
                            node.SetInput(1, graph.AddInitializer(Tensor.FromInt64s([constant.Length], constant), node.Name + "_shape"));
                            Infer(node, opset, cache, tracker);
                            targets++;
                        }
                        else if (target.Producer is { OpType: "Shape" } direct && direct.Attributes.Count == 0)
                        {
                            // Reshape(x, Shape(y)): already the smallest form
                        }
                        else if (SwapWithTranspose(graph, node, Sources(graph, node, target), tracker, opset))
                        {
                            swapped++;
                            break;
                        }
                        else if (Rebuild(graph, node, 1, value.Elements, tracker, opset, Sources(graph, node, target), gatherOnly: true) is { } gathered)
                        {
                            // every dim, sizes included, is a dim of one measured tensor: Shape → Gather, no Concat
                            Infer(node, opset, cache, tracker);
                            paths += gathered ? 1 : 0;
                        }
                        else if (ReshapePath(node, ShapeInference.KnownSymShape(data), value.Elements) is { } path && Rebuild(graph, node, 1, path, tracker, opset, Sources(graph, node, target)) is { } built)
                        {
                            Infer(node, opset, cache, tracker);
                            paths += built ? 1 : 0;
                        }
                        else
                        {
                            Unproven(why, node, $"{ShapeInference.Format(value.Elements)} from {ShapeInference.Format(ShapeInference.KnownSymShape(data))}");
                        }
                    }

                    if (MergeInnerReshape(graph, node))
                    {
                        merged++;
                        data = node.Input(0)!;
                    }

                    if (ShapeInference.KnownSymShape(data) is { } inDims && ShapeInference.KnownSymShape(node.Outputs[0]) is { } outDims
                        && inDims.All(d => d is not null) && inDims.AsEnumerable().SequenceEqual(outDims) && GraphEdits.Bypass(graph, node, node.Outputs[0], data))
                    {
                        removed++;
                    }

                    break;

                case "Expand" when node.Input(0) is { } expanded && node.Input(1) is { IsInitializer: false } size && tracker.Get(size) is { Symbolic: true, Scalar: false } value:
                    {
                        var elements = ExpandSize(ShapeInference.KnownSymShape(expanded), value.Elements);
                        if (elements.All(e => e!.Constant == 1) && ShapeInference.KnownSymShape(expanded) is { } dataDims && dataDims.Length >= elements.Length
                            && GraphEdits.Bypass(graph, node, node.Outputs[0], expanded))
                        {
                            expands++;
                        }
                        else if (Rebuild(graph, node, 1, elements, tracker, opset, Sources(graph, node, size)) is { } built)
                        {
                            Infer(node, opset, cache, tracker);
                            expands += built ? 1 : 0;
                            paths += built ? 1 : 0;
                        }
                        else
                        {
                            Unproven("Expand size with a dim no graph input has", node, ShapeInference.Format(elements));
                        }

                        break;
                    }

                case "ConstantOfShape" when node.Input(0) is { IsInitializer: false } size && tracker.Get(size) is { Symbolic: true, Scalar: false } value:
                    if (Rebuild(graph, node, 0, value.Elements, tracker, opset, Sources(graph, node, size)) is { } rebuilt)
                    {
                        Infer(node, opset, cache, tracker);
                        paths += rebuilt ? 1 : 0;
                    }
                    else
                    {
                        Unproven("ConstantOfShape shape with a dim no graph input has", node, ShapeInference.Format(value.Elements));
                    }

                    break;
            }
        }

        if (paths + expands + swapped > 0 && Graph.TopologicalOrder(graph.Nodes) is { } sorted && !sorted.SequenceEqual(graph.Nodes))
        {
            // new Shape paths sit just before their reader; keep the list in topological order
            graph.SortTopologically();
        }

        // what stays at run time although every dim is known: sizes that vary apart, which no constant can say
        var runtime = new SortedDictionary<string, (long Count, string Example)>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var (slot, reason) = node.OpType switch
            {
                "Reshape" => (1, "Reshape target with two or more dims that vary apart and copy no input dim (a constant has one -1)"),
                "Expand" => (1, "Expand size with a dim that varies and that the data does not have"),
                "ConstantOfShape" => (0, "ConstantOfShape shape with a dim that varies"),
                _ => (-1, ""),
            };
            if (slot >= 0 && node.IsOnnxDomain && node.Input(slot) is { IsInitializer: false } argument && tracker.Get(argument) is { Symbolic: true, Scalar: false } value)
            {
                var (count, example) = runtime.GetValueOrDefault(reason, (0, $"node '{node.Name}': {ShapeInference.Format(value.Elements)}"));
                runtime[reason] = (count + 1, example);
            }
        }

        var notes = unproven.Select(p => $"left symbolic ({p.Value.Count.ToString(CultureInfo.InvariantCulture)}): {p.Key}, e.g. {p.Value.Example}")
            .Concat(runtime.Select(p => $"read at run time ({p.Value.Count.ToString(CultureInfo.InvariantCulture)}): {p.Key}, e.g. {p.Value.Example}")).ToList();
        return new PassResult(targets + removed + expands + paths + merged + swapped > 0)
        {
            Counters = new Dictionary<string, long>
            {
                ["reshape-targets-constant"] = targets,
                ["reshapes-removed"] = removed,
                ["reshapes-merged"] = merged,
                ["expands-simplified"] = expands,
                ["shape-paths-rebuilt"] = paths,
                ["reshape-transpose-swapped"] = swapped,
                ["unproven"] = unproven.Values.Sum(v => v.Count),
                ["read-at-run-time"] = runtime.Values.Sum(v => v.Count),
            },
            Notes = notes,
        };
    }

    /// <summary>
    /// The constant Reshape target equal to <paramref name="target"/> for every value of the symbols, or
    /// null with the reason. The -1 is exact because the element count is the same on both sides: the one
    /// dim left is the input's count over the product of the others (sizes at least 1).
    /// </summary>
    internal static long[]? ReshapeConstant(Node node, DimExpr?[]? input, DimExpr?[] target, out string reason)
    {
        var allowZero = node.GetInt("allowzero", 0) != 0;
        var result = new long[target.Length];
        var inferred = -1;
        reason = "";
        for (var i = 0; i < target.Length; i++)
        {
            var d = target[i]!;
            if (d.Constant is { } c)
            {
                if (c == 0 && allowZero && inferred >= 0)
                {
                    reason = "an inferred dim beside a literal 0 (allowzero)";
                    return null;
                }

                if (c == -1 && inferred >= 0)
                {
                    reason = "two dims neither sizes nor copies of the input's";
                    return null;
                }

                inferred = c == -1 ? i : inferred;
                result[i] = c;
                continue;
            }

            if (!allowZero && input is not null && i < input.Length && input[i] == d)
            {
                result[i] = 0;
                continue;
            }

            if (inferred >= 0)
            {
                reason = "two dims neither sizes nor copies of the input's";
                return null;
            }

            if (allowZero && target.Any(t => t!.Constant == 0))
            {
                reason = "an inferred dim beside a literal 0 (allowzero)";
                return null;
            }

            inferred = i;
            result[i] = -1;
        }

        return result;
    }

    /// <summary>
    /// A Reshape target that still needs symbolic dims at run time: sizes stay, copies of the input's dim
    /// become 0, one dim becomes -1 (exact, as in <see cref="ReshapeConstant"/>), the rest stay symbolic
    /// for a Shape → Gather path to read. Null with allowzero (0 would be literal) or a -1 already there
    /// beside several symbolic dims.
    /// </summary>
    private static DimExpr?[]? ReshapePath(Node node, DimExpr?[]? input, DimExpr?[] target)
    {
        if (node.GetInt("allowzero", 0) != 0)
        {
            return null;
        }

        var result = new DimExpr?[target.Length];
        var inferred = target.Any(t => t!.Constant == -1);
        for (var i = 0; i < target.Length; i++)
        {
            var d = target[i]!;
            if (d.IsConstant)
            {
                result[i] = d;
            }
            else if (input is not null && i < input.Length && input[i] == d)
            {
                result[i] = DimExpr.Const(0);
            }
            else if (!inferred)
            {
                // the first symbolic dim that is not a copy: the element count fixes it
                result[i] = DimExpr.Const(-1);
                inferred = true;
            }
            else
            {
                result[i] = d;
            }
        }

        return result;
    }

    /// <summary>
    /// Values whose dims a rebuilt shape may read, all defined before <paramref name="node"/>: its data input,
    /// the tensors the old shape computation measured (Shape inputs among its ancestors), the graph inputs.
    /// </summary>
    private static List<Value> Sources(Graph graph, Node node, Value argument)
    {
        var sources = new List<Value>();
        if (node.Input(0) is { } data && !ReferenceEquals(data, argument))
        {
            sources.Add(data);
        }

        var queue = new Queue<Value>([argument]);
        var seen = new HashSet<Value>();
        while (queue.Count > 0 && seen.Count < 64)
        {
            var value = queue.Dequeue();
            if (!seen.Add(value) || value.Producer is not { } producer)
            {
                continue;
            }

            if (producer.Is("Shape") && producer.Input(0) is { } measured)
            {
                sources.Add(measured);
                continue;
            }

            foreach (var input in producer.Inputs.OfType<Value>())
            {
                queue.Enqueue(input);
            }
        }

        sources.AddRange(graph.Inputs);
        return sources.Distinct().ToList();
    }

    /// <summary>
    /// Reshape(Reshape(x, t1), t2) read by nothing else becomes Reshape(x, t2'), when the outer output's
    /// dims can be said as a constant target relative to x (sizes, copies of x's dims as 0, one -1).
    /// </summary>
    private static bool MergeInnerReshape(Graph graph, Node outer)
    {
        if (outer.Input(0) is not { Producer: { } inner } middle || !inner.Is("Reshape") || inner.Input(0) is not { } source
            || GraphEdits.SoleUser(graph, middle) is null || inner.GetInt("allowzero", 0) != 0 || outer.GetInt("allowzero", 0) != 0
            || GraphEdits.SymbolicDims(source) is not { } from || GraphEdits.SymbolicDims(outer.Outputs[0]) is not { } to
            || to.Any(d => d.Constant is <= 0) || ReshapeConstant(outer, from, to, out _) is not { } target)
        {
            return false;
        }

        outer.SetInput(0, source);
        outer.SetInput(1, graph.AddInitializer(Tensor.FromInt64s([target.Length], target), outer.Name + "_shape"));
        GraphEdits.RemoveIfDead(graph, inner);
        return true;
    }

    /// <summary>
    /// Reshape(y, S) → Transpose(perm) where the Reshape splits one axis of y into consecutive axes that the
    /// Transpose keeps together and in order (an attention output [N, H·W, C] → [N, H, W, C] → [N, C, H, W])
    /// becomes Transpose(y, perm') → Reshape to the Transpose's result, whose target is then a constant or the
    /// Shape of a tensor measured before that has exactly those dims: the same elements in the same order,
    /// for every value of the symbols. Only where that target exists (no Gather or Concat left).
    /// </summary>
    private static bool SwapWithTranspose(Graph graph, Node reshape, List<Value> sources, ShapeValueTracker tracker, long opset)
    {
        var middle = reshape.Outputs[0];
        if (reshape.GetInt("allowzero", 0) != 0 || GraphEdits.SoleUser(graph, middle) is not { } transpose || !transpose.Is("Transpose")
            || !ReferenceEquals(transpose.Graph, graph) || graph.Outputs.Contains(transpose.Outputs[0]) || reshape.Input(0) is not { } y
            || GraphEdits.SymbolicDims(y) is not { } from || GraphEdits.SymbolicDims(middle) is not { } split || split.Length <= from.Length)
        {
            return false;
        }

        var perm = transpose.GetInts("perm")?.ToArray() ?? Enumerable.Range(0, split.Length).Reverse().Select(i => (long)i).ToArray();
        // a perm that is not a permutation of the axes is the model's error, for shape inference to name
        if (perm.Length != split.Length || perm.Any(p => p < 0 || p >= split.Length) || perm.Distinct().Count() != perm.Length
            || Groups(from, split) is not { } group)
        {
            return false;
        }

        // the output axes of each input axis must stay together and in order
        var order = new List<int>();
        for (var i = 0; i < perm.Length; i++)
        {
            var g = group[perm[i]];
            if (order.Count > 0 && order[^1] == g)
            {
                if (perm[i] != perm[i - 1] + 1)
                {
                    return false;
                }

                continue;
            }

            if (order.Contains(g) || (perm[i] > 0 && group[perm[i] - 1] == g))
            {
                return false;
            }

            order.Add(g);
        }

        var result = perm.Select(p => split[p]).ToArray();
        var permuted = order.Select(g => from[g]).ToArray();
        Value shape;
        if (ReshapeConstant(reshape, permuted, result, out _) is { } constant)
        {
            shape = graph.AddInitializer(Tensor.FromInt64s([constant.Length], constant), reshape.Name + "_shape");
        }
        else if (sources.FirstOrDefault(v => GraphEdits.SymbolicDims(v) is { } d && d.SequenceEqual(result)) is { } measured)
        {
            var measure = graph.Create("Shape", [measured], anchor: reshape, nameHint: Hint);
            shape = measure.Outputs[0];
            shape.Type = TypeInfo.OfTensor(DataType.Int64, [result.Length]);
            tracker.Propagate(measure, opset);
        }
        else
        {
            return false;
        }

        var moved = graph.Create("Transpose", [y], attributes: [Ir.Attribute.IntList("perm", order.Select(g => (long)g).ToArray())], anchor: reshape, nameHint: Hint);
        moved.Outputs[0].Type = TypeInfo.OfTensor(y.Type!.ElementType, permuted.Select(d => Dim.Of(d)).ToArray());
        var replacement = graph.Create("Reshape", [moved.Outputs[0], shape], anchor: reshape, nameHint: Hint);
        replacement.Outputs[0].Type = transpose.Outputs[0].Type;
        GraphEdits.Bypass(graph, transpose, transpose.Outputs[0], replacement.Outputs[0]);
        GraphEdits.RemoveIfDead(graph, reshape);
        return true;
    }

    /// <summary>
    /// For a reshape from <paramref name="from"/> to <paramref name="to"/> that only splits axes, the input
    /// axis each output axis comes from (consecutive output axes whose product is the input's dim); null
    /// when the dims cannot be grouped so for every value of the symbols.
    /// </summary>
    private static int[]? Groups(DimExpr[] from, DimExpr[] to)
    {
        var group = new int[to.Length];
        var j = 0;
        for (var i = 0; i < from.Length; i++)
        {
            var start = j;
            DimExpr? product = DimExpr.Const(1);
            while (j < to.Length && product is not null)
            {
                product = DimExpr.Multiply(product, to[j]);
                group[j++] = i;
                if (product == from[i])
                {
                    break;
                }
            }

            // a size-1 axis inside a split could as well belong to the neighbouring group: left alone
            if (product is null || product != from[i] || (j - start > 1 && to[start..j].Any(d => d.Constant == 1)))
            {
                return null;
            }
        }

        return j == to.Length ? group : null;
    }

    /// <summary>An Expand size with 1 wherever the data already has the requested dim (broadcasting keeps it).</summary>
    private static DimExpr?[] ExpandSize(DimExpr?[]? data, DimExpr?[] size)
    {
        var result = (DimExpr?[])size.Clone();
        if (data is null)
        {
            return result;
        }

        var offset = size.Length - data.Length;
        for (var i = 0; i < size.Length; i++)
        {
            var k = i - offset;
            if (k >= 0 && data[k] is { } d && d == size[i] && !d.IsConstant)
            {
                result[i] = DimExpr.Const(1);
            }
        }

        return result;
    }

    /// <summary>
    /// Replaces the shape argument at <paramref name="slot"/> with a constant, or with the smallest path
    /// that reads the symbolic dims from one graph input (Shape → Gather, Concat'ed with the sizes).
    /// True when rebuilt, false when already minimal, null when a dim has no graph input to read it from.
    /// With <paramref name="gatherOnly"/>, sizes too must be dims of the source (one Shape → Gather, no Concat
    /// of constants), else null.
    /// </summary>
    private static bool? Rebuild(Graph graph, Node node, int slot, DimExpr?[] elements, ShapeValueTracker tracker, long opset, IEnumerable<Value> sources, bool gatherOnly = false)
    {
        var argument = node.Input(slot)!;
        if (argument.Producer is { } producer && producer.Name.StartsWith(Hint, StringComparison.Ordinal))
        {
            return false;
        }

        if (elements.All(e => e!.IsConstant))
        {
            node.SetInput(slot, graph.AddInitializer(Tensor.FromInt64s([elements.Length], elements.Select(e => e!.Constant!.Value).ToArray()), node.Name + "_shape"));
            return true;
        }

        foreach (var source in sources)
        {
            if (ShapeInference.KnownSymShape(source) is not { } dims)
            {
                continue;
            }

            var indices = new long[elements.Length];
            var constants = new List<long>();
            var ok = true;
            for (var i = 0; i < elements.Length && ok; i++)
            {
                var e = elements[i]!;
                if (gatherOnly)
                {
                    // a size must be read from a dim that is that size for every value of the symbols
                    var found = e.Constant is not <= 0 ? Array.FindIndex(dims, d => d == e) : -1;
                    ok = found >= 0;
                    indices[i] = found;
                    continue;
                }

                if (e.Constant is { } c)
                {
                    indices[i] = dims.Length + constants.Count;
                    constants.Add(c);
                    continue;
                }

                var at = Array.FindIndex(dims, d => d == e);
                ok = at >= 0;
                indices[i] = at;
            }

            if (!ok)
            {
                continue;
            }

            Value Add(string op, Value?[] inputs, IEnumerable<Ir.Attribute>? attributes, long length)
            {
                var created = graph.Create(op, inputs, attributes: attributes, anchor: node, nameHint: Hint);
                created.Outputs[0].Type = TypeInfo.OfTensor(DataType.Int64, [length]);
                tracker.Propagate(created, opset);
                return created.Outputs[0];
            }

            var pool = Add("Shape", [source], null, dims.Length);
            if (constants.Count > 0)
            {
                var sizes = graph.AddInitializer(Tensor.FromInt64s([constants.Count], [.. constants]), Hint + "_sizes");
                pool = Add("Concat", [pool, sizes], [Ir.Attribute.Int("axis", 0)], dims.Length + constants.Count);
            }

            var gathered = Add("Gather", [pool, graph.AddInitializer(Tensor.FromInt64s([indices.Length], indices), Hint + "_indices")], [Ir.Attribute.Int("axis", 0)], elements.Length);
            node.SetInput(slot, gathered);
            return true;
        }

        return null;
    }

    private static void Infer(Node node, long opset, Dictionary<Value, HostTensor?> cache, ShapeValueTracker tracker)
    {
        var inferred = ShapeInference.Infer(node, v => ShapeInferencePass.ConstantOf(v, cache), opset, v => tracker.Get(v)?.Elements);
        for (var i = 0; i < inferred.Length; i++)
        {
            ShapeInference.Reconcile(node.Outputs[i], inferred[i]);
        }
    }
}
