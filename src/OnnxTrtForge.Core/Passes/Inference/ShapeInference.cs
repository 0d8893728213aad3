using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Inference;

/// <summary>
/// Type and shape inference for one node of the ops exporters emit. Shapes are dims with unknowns
/// (null entries); the constant values of inputs (shape tensors, axes) come from <c>constantOf</c>.
/// Returns one entry per output, null where nothing is known.
/// </summary>
public static class ShapeInference
{
    private static readonly HashSet<string> SameAsInput =
    [
        "Identity", "Neg", "Abs", "Sqrt", "Exp", "Log", "Sin", "Cos", "Tan", "Tanh", "Sigmoid", "Erf", "Relu", "Reciprocal",
        "Floor", "Ceil", "Round", "Sign", "Softmax", "LogSoftmax", "Gelu", "InstanceNormalization", "LeakyRelu",
        "HardSigmoid", "HardSwish", "Clip", "Not", "Elu", "Selu", "Softplus", "Mish", "Dropout", "BatchNormalization",
        "LayerNormalization", "GroupNormalization", "CumSum",
    ];

    private static readonly HashSet<string> Arithmetic = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod", "PRelu"];

    private static readonly HashSet<string> Comparison = ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor"];

    /// <param name="partialOf">Optional partly known int64 values (shape tensors of dynamic shapes), element by element.</param>
    public static TypeInfo?[] Infer(Node node, Func<Value, HostTensor?> constantOf, long opset, Func<Value, long?[]?>? partialOf = null)
    {
        var result = new TypeInfo?[node.Outputs.Count];
        if (!node.IsOnnxDomain || result.Length == 0)
        {
            return result;
        }

        try
        {
            var first = Shape(node.Input(0));
            var type = node.Input(0)?.Type?.ElementType ?? DataType.Undefined;
            long[]? Const(int i) => node.Input(i) is { } v ? constantOf(v)?.AsLongs() : null;
            (DataType, long?[]?)? output = node.OpType switch
            {
                _ when SameAsInput.Contains(node.OpType) => (type, first),
                _ when Arithmetic.Contains(node.OpType) => (type, Broadcast(node.Inputs.Select(Shape).ToList())),
                _ when Comparison.Contains(node.OpType) => (DataType.Bool, Broadcast(node.Inputs.Select(Shape).ToList())),
                "Where" => (node.Input(1)?.Type?.ElementType ?? DataType.Undefined, Broadcast(node.Inputs.Select(Shape).ToList())),
                "Cast" => ((DataType)node.GetInt("to", 0), first),
                "CastLike" => (node.Input(1)?.Type?.ElementType ?? DataType.Undefined, first),
                "Shape" => (DataType.Int64, first is null ? [null] : [(long?)ShapeLength(first.Length, node, opset)]),
                "Size" => (DataType.Int64, []),
                "MatMul" => (type, MatMul(first, Shape(node.Input(1)))),
                "Gemm" => (type, Gemm(node, first, Shape(node.Input(1)))),
                "Conv" => (type, Conv(node, first, Shape(node.Input(1)))),
                "Einsum" => (type, Einsum(node, node.Inputs.Select(Shape).ToList())),
                "Reshape" => (type, Reshape(node, first, Const(1)?.Select(d => (long?)d).ToArray() ?? (node.Input(1) is { } target ? partialOf?.Invoke(target) : null))),
                "Resize" => (type, Resize(node, first, opset, Const, node.Input(opset >= 11 ? 2 : 1) is { } s ? constantOf(s) : null)),
                "Gather" => (type, Gather(node, first, Shape(node.Input(1)))),
                "Concat" => (type, Concat(node, node.Inputs.Select(Shape).ToList())),
                "Slice" => (type, Slice(node, first, opset, Const)),
                "Transpose" => (type, Transpose(node, first)),
                "Unsqueeze" => (type, Unsqueeze(first, OpArguments.SqueezeAxes(node, opset, Const))),
                "Squeeze" => (type, Squeeze(first, OpArguments.SqueezeAxes(node, opset, Const))),
                "Flatten" => (type, Flatten(node, first)),
                "Expand" => (type, Const(1) is { } shape && first is not null ? Broadcast([first, shape.Select(d => (long?)d).ToArray()]) : null),
                "ConstantOfShape" => (ConstantOfShapeType(node), Const(0)?.Select(d => (long?)d).ToArray()),
                "Range" => (type, Range(node, constantOf)),
                "Constant" => Constant(node),
                "ReduceMean" or "ReduceSum" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL2" => (type, Reduce(node, first, OpArguments.ReduceAxes(node, opset, Const))),
                "Split" => null,
                _ => null,
            };

            if (node.OpType == "Split")
            {
                return Split(node, first, type, opset, Const);
            }

            if (output is { } o && o.Item1 != DataType.Undefined)
            {
                result[0] = TypeInfo.OfTensor(o.Item1, o.Item2?.Select(d => d is { } v ? Dim.Of(v) : Dim.Unknown).ToArray());
            }
        }
        catch (ArgumentException)
        {
        }
        catch (IndexOutOfRangeException)
        {
        }

        return result;
    }

    /// <summary>The shape of a value as dims with unknowns; null when its rank is unknown.</summary>
    public static long?[]? Shape(Value? value) => value?.Type?.Shape?.Select(d => d.Value).ToArray();

    /// <summary>Length of the Shape op's output for an input of <paramref name="rank"/> (start/end from opset 15).</summary>
    private static long ShapeLength(int rank, Node node, long opset)
    {
        var start = opset >= 15 ? node.GetInt("start", 0) : 0;
        var end = opset >= 15 ? node.GetInt("end", rank) : rank;
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return Math.Max(0, end - start);
    }

    /// <summary>
    /// Records an inferred type on a value when it adds knowledge: a value without a type takes it; a
    /// static shape already there is kept; otherwise the one with more known dims wins. True when changed.
    /// </summary>
    public static bool Merge(Value value, TypeInfo? inferred)
    {
        if (inferred is null || inferred.ElementType == DataType.Undefined)
        {
            return false;
        }

        var current = value.Type;
        if (current is null || current.ElementType == DataType.Undefined)
        {
            value.Type = inferred;
            return true;
        }

        if (current.Kind != TypeKind.Tensor || current.HasStaticShape || inferred.Shape is null || current.ElementType != inferred.ElementType)
        {
            return false;
        }

        var known = current.Shape?.Count(d => d.IsKnown) ?? -1;
        if (inferred.Shape.Count(d => d.IsKnown) > known && (current.Shape is null || current.Shape.Count == inferred.Shape.Count))
        {
            value.Type = inferred;
            return true;
        }

        return false;
    }

    public static long?[]? Broadcast(IReadOnlyList<long?[]?> shapes)
    {
        if (shapes.Count == 0 || shapes.Any(s => s is null))
        {
            return null;
        }

        var rank = shapes.Max(s => s!.Length);
        var result = new long?[rank];
        for (var i = 0; i < rank; i++)
        {
            long? size = 1;
            var unknown = false;
            foreach (var s in shapes)
            {
                var k = i - (rank - s!.Length);
                if (k < 0)
                {
                    continue;
                }

                var d = s[k];
                if (d is null)
                {
                    unknown = true;
                }
                else if (d != 1)
                {
                    if (size != 1 && size != d)
                    {
                        throw new ArgumentException("shapes do not broadcast");
                    }

                    size = d;
                }
            }

            result[i] = unknown && size == 1 ? null : size;
        }

        return result;
    }

    private static long?[]? MatMul(long?[]? a, long?[]? b)
    {
        if (a is null || b is null || a.Length == 0 || b.Length == 0)
        {
            return null;
        }

        var aa = a.Length == 1 ? new long?[] { 1, a[0] } : a;
        var bb = b.Length == 1 ? new long?[] { b[0], 1 } : b;
        var batch = Broadcast([aa[..^2], bb[..^2]])!;
        var result = batch.ToList();
        if (a.Length > 1)
        {
            result.Add(aa[^2]);
        }

        if (b.Length > 1)
        {
            result.Add(bb[^1]);
        }

        return result.ToArray();
    }

    private static long?[]? Gemm(Node node, long?[]? a, long?[]? b)
    {
        if (a is null || b is null || a.Length != 2 || b.Length != 2)
        {
            return null;
        }

        var m = node.GetInt("transA", 0) != 0 ? a[1] : a[0];
        var n = node.GetInt("transB", 0) != 0 ? b[0] : b[1];
        return [m, n];
    }

    private static long?[]? Conv(Node node, long?[]? x, long?[]? w)
    {
        if (x is null || w is null || x.Length < 3 || w.Length != x.Length)
        {
            return null;
        }

        var spatial = x.Length - 2;
        var kernel = node.GetInts("kernel_shape")?.ToArray() ?? w[2..].Select(d => d ?? -1).ToArray();
        var strides = node.GetInts("strides")?.ToArray() ?? Enumerable.Repeat(1L, spatial).ToArray();
        var dilations = node.GetInts("dilations")?.ToArray() ?? Enumerable.Repeat(1L, spatial).ToArray();
        var pads = node.GetInts("pads")?.ToArray() ?? new long[spatial * 2];
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (strides.Length < spatial || dilations.Length < spatial || strides.Any(s => s <= 0) || dilations.Any(d => d <= 0))
        {
            throw new ForgeInputException($"node '{node.Name}' ({node.OpType}): strides [{string.Join(",", strides)}] and dilations [{string.Join(",", dilations)}] must hold {spatial} positive values");
        }

        var result = new long?[x.Length];
        result[0] = x[0];
        result[1] = w[0];
        for (var i = 0; i < spatial; i++)
        {
            var input = x[i + 2];
            if (input is null || kernel[i] < 0)
            {
                continue;
            }

            var effective = ((kernel[i] - 1) * dilations[i]) + 1;
            result[i + 2] = autoPad switch
            {
                "SAME_UPPER" or "SAME_LOWER" => (input + strides[i] - 1) / strides[i],
                "VALID" => ((input - effective) / strides[i]) + 1,
                _ => ((input + pads[i] + pads[i + spatial] - effective) / strides[i]) + 1,
            };
        }

        return result;
    }

    /// <summary>Parses an Einsum equation into operand subscripts and the output subscripts (explicit or implicit).</summary>
    public static (List<string> Inputs, string Output)? ParseEinsum(string equation)
    {
        var text = equation.Replace(" ", "", StringComparison.Ordinal);
        if (text.Contains("...", StringComparison.Ordinal))
        {
            return null;
        }

        var arrow = text.IndexOf("->", StringComparison.Ordinal);
        var left = arrow >= 0 ? text[..arrow] : text;
        var inputs = left.Split(',').ToList();
        string output;
        if (arrow >= 0)
        {
            output = text[(arrow + 2)..];
        }
        else
        {
            var counts = inputs.SelectMany(s => s).GroupBy(c => c).Where(g => g.Count() == 1).Select(g => g.Key).Order();
            output = new string(counts.ToArray());
        }

        return (inputs, output);
    }

    private static long?[]? Einsum(Node node, IReadOnlyList<long?[]?> shapes)
    {
        if (ParseEinsum(node.GetString("equation", "")) is not { } parsed || parsed.Inputs.Count != shapes.Count)
        {
            return null;
        }

        var sizes = new Dictionary<char, long?>();
        for (var i = 0; i < shapes.Count; i++)
        {
            var s = shapes[i];
            if (s is null || s.Length != parsed.Inputs[i].Length)
            {
                return null;
            }

            for (var k = 0; k < s.Length; k++)
            {
                var letter = parsed.Inputs[i][k];
                if (!sizes.TryGetValue(letter, out var known) || known is null || known == 1)
                {
                    sizes[letter] = s[k] ?? known;
                }
            }
        }

        return parsed.Output.Select(c => sizes.GetValueOrDefault(c)).ToArray();
    }

    private static long?[]? Reshape(Node node, long?[]? input, long?[]? shape)
    {
        if (shape is null)
        {
            return null;
        }

        var allowZero = node.GetInt("allowzero", 0) != 0;
        if (input is not null && input.All(d => d is not null) && shape.All(d => d is not null))
        {
            return ShapeMath.ReshapeTarget(input.Select(d => d!.Value).ToArray(), shape.Select(d => d!.Value).ToArray(), allowZero)?.Select(d => (long?)d).ToArray();
        }

        return shape.Select((d, i) => d is null or -1 ? null : d == 0 && !allowZero ? (input is not null && i < input.Length ? input[i] : null) : d).ToArray();
    }

    private static long?[]? Resize(Node node, long?[]? input, long opset, Func<int, long[]?> constInts, HostTensor? scales)
    {
        if (input is null)
        {
            return null;
        }

        if (opset >= 11 && node.Input(3) is not null)
        {
            var sizes = constInts(3);
            return sizes?.Select(d => (long?)d).ToArray();
        }

        if (scales is null || scales.Count != input.Length)
        {
            return null;
        }

        return input.Select((d, i) => d is { } v ? (long?)Math.Floor(v * scales.RealAt(i)) : null).ToArray();
    }

    private static long?[]? Gather(Node node, long?[]? data, long?[]? indices)
    {
        if (data is null || indices is null)
        {
            return null;
        }

        var axis = ShapeMath.Axis(node.GetInt("axis", 0), data.Length);
        return data.Take(axis).Concat(indices).Concat(data.Skip(axis + 1)).ToArray();
    }

    private static long?[]? Concat(Node node, IReadOnlyList<long?[]?> shapes)
    {
        if (shapes.Any(s => s is null))
        {
            return null;
        }

        var first = shapes[0]!;
        var axis = ShapeMath.Axis(node.GetInt("axis", 0), first.Length);
        var result = new long?[first.Length];
        for (var i = 0; i < first.Length; i++)
        {
            result[i] = i == axis
                ? shapes.All(s => s![i] is not null) ? shapes.Sum(s => s![i]!.Value) : null
                : shapes.Select(s => s![i]).FirstOrDefault(d => d is not null);
        }

        return result;
    }

    private static long?[]? Slice(Node node, long?[]? input, long opset, Func<int, long[]?> constInts)
    {
        if (input is null || OpArguments.SliceBounds(node, opset, constInts) is not { } b)
        {
            return null;
        }

        var result = (long?[])input.Clone();
        for (var i = 0; i < b.Starts.Length; i++)
        {
            var axis = ShapeMath.Axis(b.Axes?[i] ?? i, input.Length);
            result[axis] = input[axis] is { } dim ? ShapeMath.SliceRange(dim, b.Starts[i], b.Ends[i], b.Steps?[i] ?? 1).Count : null;
        }

        return result;
    }

    private static long?[]? Transpose(Node node, long?[]? input)
    {
        if (input is null)
        {
            return null;
        }

        var perm = node.GetInts("perm")?.ToArray() ?? Enumerable.Range(0, input.Length).Reverse().Select(i => (long)i).ToArray();
        return perm.Length != input.Length ? null : perm.Select(p => input[p]).ToArray();
    }

    private static long?[]? Unsqueeze(long?[]? input, OpArguments.Ints axes)
    {
        if (input is null || axes.Values is null)
        {
            return null;
        }

        var rank = input.Length + axes.Values.Length;
        var normalized = axes.Values.Select(a => ShapeMath.Axis(a, rank)).ToHashSet();
        var result = new long?[rank];
        var k = 0;
        for (var i = 0; i < rank; i++)
        {
            result[i] = normalized.Contains(i) ? 1 : input[k++];
        }

        return result;
    }

    private static long?[]? Squeeze(long?[]? input, OpArguments.Ints axes)
    {
        if (input is null || !axes.Known)
        {
            return null;
        }

        if (!axes.Present)
        {
            return input.Any(d => d is null) ? null : input.Where(d => d != 1).ToArray();
        }

        var normalized = axes.Values!.Select(a => ShapeMath.Axis(a, input.Length)).ToHashSet();
        return input.Where((d, i) => !normalized.Contains(i)).ToArray();
    }

    private static long?[]? Flatten(Node node, long?[]? input)
    {
        if (input is null)
        {
            return null;
        }

        var axis = (int)node.GetInt("axis", 1);
        axis = axis < 0 ? axis + input.Length : axis;
        long? Product(IEnumerable<long?> dims) => dims.All(d => d is not null) ? ShapeMath.Product(dims.Select(d => d!.Value)) : null;
        return [Product(input.Take(axis)), Product(input.Skip(axis))];
    }

    private static DataType ConstantOfShapeType(Node node) =>
        node.Attributes.TryGetValue("value", out var v) && v.T is { } t ? t.Type : DataType.Float;

    private static long?[]? Range(Node node, Func<Value, HostTensor?> constantOf)
    {
        var values = node.Inputs.Select(v => v is null ? null : constantOf(v)).ToArray();
        if (values.Length != 3 || values.Any(v => v is null))
        {
            return [null];
        }

        return [(long)Math.Max(Math.Ceiling((values[1]!.RealAt(0) - values[0]!.RealAt(0)) / values[2]!.RealAt(0)), 0)];
    }

    private static (DataType, long?[]?)? Constant(Node node)
    {
        if (node.Attributes.TryGetValue("value", out var value) && value.T is { } t)
        {
            return (t.Type, t.Dims.Select(d => (long?)d).ToArray());
        }

        if (node.Attributes.ContainsKey("value_float"))
        {
            return (DataType.Float, []);
        }

        if (node.Attributes.ContainsKey("value_int"))
        {
            return (DataType.Int64, []);
        }

        if (node.Attributes.TryGetValue("value_floats", out var fs))
        {
            return (DataType.Float, [fs.Floats.Count]);
        }

        return node.Attributes.TryGetValue("value_ints", out var ints) ? (DataType.Int64, [ints.Ints.Count]) : null;
    }

    private static long?[]? Reduce(Node node, long?[]? input, OpArguments.Ints axes)
    {
        if (input is null || !axes.Known)
        {
            return null;
        }

        var list = axes.Values ?? [];
        if (list.Length == 0 && node.GetInt("noop_with_empty_axes", 0) != 0)
        {
            return input;
        }

        var reduced = list.Length == 0 ? Enumerable.Range(0, input.Length).ToHashSet() : list.Select(a => ShapeMath.Axis(a, input.Length)).ToHashSet();
        return node.GetInt("keepdims", 1) != 0
            ? input.Select((d, i) => reduced.Contains(i) ? 1 : d).ToArray()
            : input.Where((d, i) => !reduced.Contains(i)).ToArray();
    }

    private static TypeInfo?[] Split(Node node, long?[]? input, DataType type, long opset, Func<int, long[]?> constInts)
    {
        var result = new TypeInfo?[node.Outputs.Count];
        if (input is null || type == DataType.Undefined)
        {
            return result;
        }

        var axis = ShapeMath.Axis(node.GetInt("axis", 0), input.Length);
        if (input[axis] is not { } axisSize || InferenceShapes.SplitSizes(node, opset, axisSize, constInts) is not { } sizes || sizes.Length != result.Length)
        {
            return result;
        }

        for (var i = 0; i < result.Length; i++)
        {
            var dims = (long?[])input.Clone();
            dims[axis] = sizes[i];
            result[i] = TypeInfo.OfTensor(type, dims.Select(d => d is { } v ? Dim.Of(v) : Dim.Unknown).ToArray());
        }

        return result;
    }
}
