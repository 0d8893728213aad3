using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Evaluation;

/// <summary>Evaluators for shape and data-movement ops (the exporter's shape chains) and small reductions.</summary>
internal static class TensorEvaluators
{
    public static IEnumerable<(string OpType, OpEvaluator Evaluator)> All()
    {
        yield return ("Constant", Constant);
        yield return ("Identity", c => [c.Input(0)]);
        yield return ("Shape", Shape);
        yield return ("Size", c => [HostTensor.Integer(DataType.Int64, [], [c.Input(0).Count])]);
        yield return ("Reshape", Reshape);
        yield return ("Unsqueeze", Unsqueeze);
        yield return ("Squeeze", Squeeze);
        yield return ("Flatten", Flatten);
        yield return ("Concat", Concat);
        yield return ("Gather", Gather);
        yield return ("Slice", Slice);
        yield return ("Transpose", Transpose);
        yield return ("Expand", Expand);
        yield return ("ConstantOfShape", ConstantOfShape);
        yield return ("Range", Range);
        yield return ("Split", Split);
        yield return ("ReduceMean", Reduce(ReduceKind.Mean));
        yield return ("ReduceSum", Reduce(ReduceKind.Sum));
        yield return ("ReduceMax", Reduce(ReduceKind.Max));
        yield return ("ReduceMin", Reduce(ReduceKind.Min));
        yield return ("ReduceProd", Reduce(ReduceKind.Prod));
    }

    private static IReadOnlyList<HostTensor>? Constant(EvaluationContext context)
    {
        var node = context.Node;
        if (node.Attributes.TryGetValue("value", out var value) && value.T is { } tensor)
        {
            return HostTensor.FromTensor(tensor) is { } t ? [t] : null;
        }

        if (node.Attributes.TryGetValue("value_float", out var f))
        {
            return [HostTensor.Real(DataType.Float, [], [f.F])];
        }

        if (node.Attributes.TryGetValue("value_floats", out var fs))
        {
            return [HostTensor.Real(DataType.Float, [fs.Floats.Count], fs.Floats.Select(v => (double)v).ToArray())];
        }

        if (node.Attributes.TryGetValue("value_int", out var i))
        {
            return [HostTensor.Integer(DataType.Int64, [], [i.I])];
        }

        if (node.Attributes.TryGetValue("value_ints", out var ints))
        {
            return [HostTensor.Integer(DataType.Int64, [ints.Ints.Count], ints.Ints.ToArray())];
        }

        return null;
    }

    private static IReadOnlyList<HostTensor> Shape(EvaluationContext context) =>
        [ShapeOf(context.Input(0).Dims, context.Node, context.Opset)];

    /// <summary>The Shape op's output for a known shape (start/end attributes from opset 15).</summary>
    public static HostTensor ShapeOf(long[] dims, Node node, long opset)
    {
        var rank = dims.Length;
        var start = opset >= 15 ? node.GetInt("start", 0) : 0;
        var end = opset >= 15 ? node.GetInt("end", rank) : rank;
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        var slice = dims.Skip((int)start).Take((int)Math.Max(0, end - start)).ToArray();
        return HostTensor.Integer(DataType.Int64, [slice.Length], slice);
    }

    private static IReadOnlyList<HostTensor>? Reshape(EvaluationContext context)
    {
        var x = context.Input(0);
        var dims = ShapeMath.ReshapeTarget(x.Dims, context.Input(1).AsLongs(), context.Node.GetInt("allowzero", 0) != 0);
        return dims is null ? null : [x.WithDims(dims)];
    }

    private static IReadOnlyList<HostTensor>? Unsqueeze(EvaluationContext context)
    {
        var x = context.Input(0);
        var axes = OpArguments.SqueezeAxes(context.Node, context.Opset, context.ConstantInts);
        var dims = InferenceShapes.Unsqueeze(x.Dims, axes.Values);
        return dims is null ? null : [x.WithDims(dims)];
    }

    private static IReadOnlyList<HostTensor>? Squeeze(EvaluationContext context)
    {
        var x = context.Input(0);
        var axes = OpArguments.SqueezeAxes(context.Node, context.Opset, context.ConstantInts);
        var dims = InferenceShapes.Squeeze(x.Dims, axes.Present ? axes.Values : null);
        return dims is null ? null : [x.WithDims(dims)];
    }

    private static IReadOnlyList<HostTensor> Flatten(EvaluationContext context)
    {
        var x = context.Input(0);
        var axis = (int)context.Node.GetInt("axis", 1);
        axis = axis < 0 ? axis + x.Rank : axis;
        return [x.WithDims([ShapeMath.Product(x.Dims.Take(axis)), ShapeMath.Product(x.Dims.Skip(axis))])];
    }

    private static IReadOnlyList<HostTensor>? Concat(EvaluationContext context)
    {
        var parts = context.Inputs.Select(t => t ?? throw new ArgumentException("Concat input missing")).ToList();
        var first = parts[0];
        if (parts.Any(p => p.Type != first.Type || p.Rank != first.Rank))
        {
            return null;
        }

        var axis = ShapeMath.Axis(context.Node.GetInt("axis", 0), first.Rank);
        var dims = (long[])first.Dims.Clone();
        dims[axis] = parts.Sum(p => p.Dims[axis]);
        var outer = (int)ShapeMath.Product(first.Dims.Take(axis));
        var indices = new List<(int Part, int Index)>();
        for (var o = 0; o < outer; o++)
        {
            for (var p = 0; p < parts.Count; p++)
            {
                var block = (int)ShapeMath.Product(parts[p].Dims.Skip(axis));
                for (var k = 0; k < block; k++)
                {
                    indices.Add((p, (o * block) + k));
                }
            }
        }

        if (first.IsReal)
        {
            return [HostTensor.Real(first.Type, dims, indices.Select(x => parts[x.Part].Reals![x.Index]).ToArray())];
        }

        return [HostTensor.Integer(first.Type, dims, indices.Select(x => parts[x.Part].Integers![x.Index]).ToArray())];
    }

    private static IReadOnlyList<HostTensor>? Gather(EvaluationContext context)
    {
        var data = context.Input(0);
        var indices = context.Input(1);
        if (indices.IsReal)
        {
            return null;
        }

        var axis = ShapeMath.Axis(context.Node.GetInt("axis", 0), data.Rank);
        var dims = data.Dims.Take(axis).Concat(indices.Dims).Concat(data.Dims.Skip(axis + 1)).ToArray();
        var outer = (int)ShapeMath.Product(data.Dims.Take(axis));
        var inner = (int)ShapeMath.Product(data.Dims.Skip(axis + 1));
        var axisSize = data.Dims[axis];
        var map = new List<int>();
        for (var o = 0; o < outer; o++)
        {
            foreach (var raw in indices.Integers!)
            {
                var index = raw < 0 ? raw + axisSize : raw;
                if (index < 0 || index >= axisSize)
                {
                    throw new ArgumentException($"Gather index {raw} out of range");
                }

                for (var k = 0; k < inner; k++)
                {
                    map.Add((int)((((o * axisSize) + index) * inner) + k));
                }
            }
        }

        return [data.Select(dims, map.ToArray())];
    }

    private static IReadOnlyList<HostTensor>? Slice(EvaluationContext context)
    {
        var x = context.Input(0);
        var bounds = OpArguments.SliceBounds(context.Node, context.Opset, context.ConstantInts);
        if (bounds is not { } b)
        {
            return null;
        }

        var (dims, starts, steps) = OpArguments.ResolveSlice(x.Dims, b.Starts, b.Ends, b.Axes, b.Steps);
        var inStrides = ShapeMath.Strides(x.Dims);
        var outStrides = ShapeMath.Strides(dims);
        var count = (int)ShapeMath.Product(dims);
        var map = new int[count];
        for (var i = 0; i < count; i++)
        {
            long rest = i;
            long src = 0;
            for (var d = 0; d < dims.Length; d++)
            {
                var coord = rest / outStrides[d];
                rest %= outStrides[d];
                src += (starts[d] + (coord * steps[d])) * inStrides[d];
            }

            map[i] = (int)src;
        }

        return [x.Select(dims, map)];
    }

    private static IReadOnlyList<HostTensor>? Transpose(EvaluationContext context)
    {
        var x = context.Input(0);
        var perm = context.Node.GetInts("perm")?.ToArray() ?? Enumerable.Range(0, x.Rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != x.Rank)
        {
            return null;
        }

        var dims = perm.Select(p => x.Dims[p]).ToArray();
        var inStrides = ShapeMath.Strides(x.Dims);
        var outStrides = ShapeMath.Strides(dims);
        var map = new int[x.Count];
        for (var i = 0; i < map.Length; i++)
        {
            long rest = i;
            long src = 0;
            for (var d = 0; d < dims.Length; d++)
            {
                var coord = rest / outStrides[d];
                rest %= outStrides[d];
                src += coord * inStrides[perm[d]];
            }

            map[i] = (int)src;
        }

        return [x.Select(dims, map)];
    }

    private static IReadOnlyList<HostTensor>? Expand(EvaluationContext context)
    {
        var x = context.Input(0);
        var dims = ShapeMath.Broadcast([x.Dims, context.Input(1).AsLongs()]);
        return dims is null ? null : [x.Select(dims, ShapeMath.BroadcastIndex(x.Dims, dims))];
    }

    private static IReadOnlyList<HostTensor>? ConstantOfShape(EvaluationContext context)
    {
        var dims = context.Input(0).AsLongs();
        var count = (int)ShapeMath.Product(dims);
        var fill = context.Node.Attributes.TryGetValue("value", out var v) && v.T is { } t ? HostTensor.FromTensor(t) : HostTensor.Real(DataType.Float, [1], [0]);
        if (fill is null || fill.Count != 1)
        {
            return null;
        }

        return [fill.Select(dims, new int[count])];
    }

    private static IReadOnlyList<HostTensor>? Range(EvaluationContext context)
    {
        var start = context.Input(0);
        var limit = context.Input(1);
        var delta = context.Input(2);
        var count = (long)Math.Max(Math.Ceiling((limit.RealAt(0) - start.RealAt(0)) / delta.RealAt(0)), 0);
        if (start.IsReal)
        {
            return [HostTensor.Real(start.Type, [count], Enumerable.Range(0, (int)count).Select(i => start.RealAt(0) + (i * delta.RealAt(0))).ToArray())];
        }

        return [HostTensor.Integer(start.Type, [count], Enumerable.Range(0, (int)count).Select(i => start.IntegerAt(0) + (i * delta.IntegerAt(0))).ToArray())];
    }

    private static IReadOnlyList<HostTensor>? Split(EvaluationContext context)
    {
        var x = context.Input(0);
        var axis = ShapeMath.Axis(context.Node.GetInt("axis", 0), x.Rank);
        var sizes = InferenceShapes.SplitSizes(context.Node, context.Opset, x.Dims[axis], context.ConstantInts);
        if (sizes is null)
        {
            return null;
        }

        var results = new List<HostTensor>();
        long offset = 0;
        foreach (var size in sizes)
        {
            var dims = (long[])x.Dims.Clone();
            dims[axis] = size;
            var outer = (int)ShapeMath.Product(x.Dims.Take(axis));
            var inner = (int)ShapeMath.Product(x.Dims.Skip(axis + 1));
            var map = new List<int>();
            for (var o = 0; o < outer; o++)
            {
                for (var k = 0; k < size * inner; k++)
                {
                    map.Add((int)((((o * x.Dims[axis]) + offset) * inner) + k));
                }
            }

            results.Add(x.Select(dims, map.ToArray()));
            offset += size;
        }

        return results;
    }

    private enum ReduceKind
    {
        Mean,
        Sum,
        Max,
        Min,
        Prod,
    }

    private static OpEvaluator Reduce(ReduceKind kind) => context =>
    {
        var x = context.Input(0);
        var axes = OpArguments.ReduceAxes(context.Node, context.Opset, context.ConstantInts);
        if (!axes.Known)
        {
            return null;
        }

        var keep = context.Node.GetInt("keepdims", 1) != 0;
        var noop = context.Node.GetInt("noop_with_empty_axes", 0) != 0;
        var list = axes.Values ?? [];
        if (list.Length == 0 && noop)
        {
            return [x];
        }

        var reduced = list.Length == 0 ? Enumerable.Range(0, x.Rank).ToHashSet() : list.Select(a => ShapeMath.Axis(a, x.Rank)).ToHashSet();
        var keptDims = x.Dims.Select((d, i) => reduced.Contains(i) ? 1 : d).ToArray();
        var outDims = keep ? keptDims : x.Dims.Where((d, i) => !reduced.Contains(i)).ToArray();
        var outCount = (int)ShapeMath.Product(keptDims);
        var acc = new double[outCount];
        var seen = new int[outCount];
        var inStrides = ShapeMath.Strides(x.Dims);
        var outStrides = ShapeMath.Strides(keptDims);
        for (var i = 0; i < x.Count; i++)
        {
            long rest = i;
            long dst = 0;
            for (var d = 0; d < x.Rank; d++)
            {
                var coord = rest / inStrides[d];
                rest %= inStrides[d];
                if (!reduced.Contains(d))
                {
                    dst += coord * outStrides[d];
                }
            }

            var v = x.RealAt(i);
            var j = (int)dst;
            acc[j] = seen[j] == 0 ? v : kind switch
            {
                ReduceKind.Max => Math.Max(acc[j], v),
                ReduceKind.Min => Math.Min(acc[j], v),
                ReduceKind.Prod => acc[j] * v,
                _ => acc[j] + v,
            };
            seen[j]++;
        }

        if (kind == ReduceKind.Mean)
        {
            for (var j = 0; j < outCount; j++)
            {
                acc[j] /= Math.Max(seen[j], 1);
            }
        }

        return [HostTensor.FromDoubles(x.Type, outDims, acc)];
    };
}
