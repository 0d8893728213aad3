using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Passes.Inference;

/// <summary>
/// Values of small int64 shape tensors (ONNX's "data propagation") as vectors of symbolic dims: Shape of
/// a tensor whose dims are sizes, symbols or expressions, and the Gather/Slice/Unsqueeze/Squeeze/Concat/
/// arithmetic the exporters apply to it. When every element is a size the value is a constant even though
/// the tensor it measures has a dynamic dimension elsewhere; when elements are symbolic, the vector is
/// what a Reshape target or an Expand size is for every value of the symbols. Arithmetic is checked:
/// an overflow or a division that is not exact for every value of the symbols gives an unknown element.
/// </summary>
internal sealed class ShapeValueTracker
{
    /// <summary>An op's data propagation: its int64 output value from its inputs' known values; null when nothing is known.</summary>
    internal delegate Partial? ValueFunction(ShapeValueTracker tracker, Node node, long opset);

    /// <summary>Elements (null: unknown) and whether the value is a scalar rather than a 1-D tensor.</summary>
    public sealed record Partial(DimExpr?[] Elements, bool Scalar)
    {
        /// <summary>Int64, or Bool for comparisons of shape values (elements 0 and 1).</summary>
        public DataType Type { get; init; } = DataType.Int64;

        /// <summary>Every element is a known size.</summary>
        public bool Complete => Elements.All(e => e is { IsConstant: true });

        /// <summary>Every element is known, as a size or an expression over symbols.</summary>
        public bool Symbolic => Elements.All(e => e is not null);

        public HostTensor ToHost() => HostTensor.Integer(Type, Scalar ? [] : [Elements.Length], Elements.Select(e => e!.Constant!.Value).ToArray());
    }

    private const int MaxElements = 64;
    private readonly Dictionary<Value, Partial> known = [];

    public Partial? Get(Value? value)
    {
        if (value is null)
        {
            return null;
        }

        if (known.TryGetValue(value, out var p))
        {
            return p;
        }

        if (value.Initializer is { } t && !value.IsGraphInput && t.Type == DataType.Int64 && t.Dims.Length <= 1 && t.ElementCount <= MaxElements)
        {
            return new Partial(t.ToInt64Array().Select(v => (DimExpr?)DimExpr.Const(v)).ToArray(), t.Dims.Length == 0);
        }

        return null;
    }

    /// <summary>Computes the node's output value (int64 shape math only); null when nothing is known.</summary>
    public Partial? Propagate(Node node, long opset)
    {
        if (!node.IsOnnxDomain || node.Outputs.Count != 1)
        {
            return null;
        }

        Partial? result = null;
        try
        {
            // the op's data-propagation function comes from the op-schema table
            result = OpSchemas.Default.Find(node, opset)?.Value is { } propagate ? propagate(this, node, opset) : null;
        }
        catch (ArgumentException)
        {
            result = null;
        }
        catch (OverflowException)
        {
            result = null;
        }

        if (result is null || result.Elements.Length > MaxElements || result.Elements.All(e => e is null))
        {
            return null;
        }

        known[node.Outputs[0]] = result;
        return result;
    }

    // The data-propagation functions the op-schema table refers to (OpSchemas): each adapts a computation below.
    internal static Partial? ShapeValue(ShapeValueTracker tracker, Node node, long opset) => ShapeOf(node, opset);

    internal static Partial? GatherValue(ShapeValueTracker tracker, Node node, long opset) => tracker.Gather(node);

    internal static Partial? UnsqueezeValue(ShapeValueTracker tracker, Node node, long opset) =>
        tracker.Get(node.Input(0)) is { Scalar: true } s ? new Partial(s.Elements, false) : null;

    internal static Partial? SqueezeValue(ShapeValueTracker tracker, Node node, long opset) =>
        tracker.Get(node.Input(0)) is { Scalar: false, Elements.Length: 1 } s ? new Partial(s.Elements, true) : null;

    internal static Partial? IdentityValue(ShapeValueTracker tracker, Node node, long opset) => tracker.Get(node.Input(0));

    internal static Partial? CastValue(ShapeValueTracker tracker, Node node, long opset) =>
        (DataType)node.GetInt("to", 0) == DataType.Int64 ? tracker.Get(node.Input(0)) : null;

    internal static Partial? ConcatValue(ShapeValueTracker tracker, Node node, long opset) => tracker.Concat(node);

    internal static Partial? SliceValue(ShapeValueTracker tracker, Node node, long opset) => tracker.Slice(node, opset);

    internal static Partial? ArithmeticValue(ShapeValueTracker tracker, Node node, long opset) => tracker.Arithmetic(node);

    internal static Partial? WhereValue(ShapeValueTracker tracker, Node node, long opset) => tracker.Where(node);

    private static Partial? ShapeOf(Node node, long opset)
    {
        // dims only a declaration vouches for are not the value Shape computes (see Value.ShapeUnconfirmed)
        if (node.Input(0) is not { ShapeUnconfirmed: false, Type: { Kind: TypeKind.Tensor, Shape: { } shape } })
        {
            return null;
        }

        var rank = shape.Count;
        var start = opset >= 15 ? node.GetInt("start", 0) : 0;
        var end = opset >= 15 ? node.GetInt("end", rank) : rank;
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return new Partial(shape.Skip((int)start).Take((int)Math.Max(0, end - start)).Select(d => d.AsExpr()).ToArray(), false);
    }

    private Partial? Gather(Node node)
    {
        if (Get(node.Input(0)) is not { Scalar: false } data || node.GetInt("axis", 0) is not (0 or -1) || Get(node.Input(1)) is not { Complete: true } indices)
        {
            return null;
        }

        var n = data.Elements.Length;
        var picked = indices.Elements.Select(e => e!.Constant!.Value).Select(i => i < 0 ? i + n : i)
            .Select(i => i >= 0 && i < n ? data.Elements[i] : throw new ArgumentException("index out of range")).ToArray();
        return new Partial(picked, indices.Scalar);
    }

    private Partial? Concat(Node node)
    {
        var parts = node.Inputs.Select(Get).ToList();
        if (parts.Any(p => p is null || p.Scalar))
        {
            return null;
        }

        return new Partial(parts.SelectMany(p => p!.Elements).ToArray(), false);
    }

    private Partial? Slice(Node node, long opset)
    {
        if (Get(node.Input(0)) is not { Scalar: false } data
            || OpArguments.SliceBounds(node, opset, i => Get(node.Input(i)) is { Complete: true } p ? p.Elements.Select(e => e!.Constant!.Value).ToArray() : null) is not { } b
            || b.Starts.Length != 1 || (b.Axes?[0] ?? 0) is not (0 or -1))
        {
            return null;
        }

        var range = ShapeMath.SliceRange(data.Elements.Length, b.Starts[0], b.Ends[0], b.Steps?[0] ?? 1);
        return new Partial(Enumerable.Range(0, (int)range.Count).Select(k => data.Elements[range.Start + (k * range.Step)]).ToArray(), false);
    }

    private Partial? Arithmetic(Node node)
    {
        if (Get(node.Input(0)) is not { } a || Get(node.Input(1)) is not { } b)
        {
            return null;
        }

        var n = Math.Max(a.Elements.Length, b.Elements.Length);
        if ((a.Elements.Length != n && a.Elements.Length != 1) || (b.Elements.Length != n && b.Elements.Length != 1))
        {
            return null;
        }

        var result = new DimExpr?[n];
        for (var i = 0; i < n; i++)
        {
            var x = a.Elements[a.Elements.Length == 1 ? 0 : i];
            var y = b.Elements[b.Elements.Length == 1 ? 0 : i];
            result[i] = node.OpType switch
            {
                "Add" => DimExpr.Add(x, y),
                "Sub" => DimExpr.Subtract(x, y),
                "Mul" => DimExpr.Multiply(x, y),
                "Equal" => Equal(x, y),
                _ => Divide(x, y),
            };
        }

        return new Partial(result, a.Scalar && b.Scalar) { Type = node.OpType == "Equal" ? DataType.Bool : DataType.Int64 };
    }

    /// <summary>Where over shape values whose condition is known element by element.</summary>
    private Partial? Where(Node node)
    {
        if (Get(node.Input(0)) is not { Type: DataType.Bool, Complete: true } condition || Get(node.Input(1)) is not { Type: DataType.Int64 } x || Get(node.Input(2)) is not { Type: DataType.Int64 } y)
        {
            return null;
        }

        var n = new[] { condition.Elements.Length, x.Elements.Length, y.Elements.Length }.Max();
        if (new[] { condition, x, y }.Any(p => p.Elements.Length != n && p.Elements.Length != 1))
        {
            return null;
        }

        DimExpr? At(Partial p, int i) => p.Elements[p.Elements.Length == 1 ? 0 : i];
        var result = Enumerable.Range(0, n).Select(i => At(condition, i)!.Constant != 0 ? At(x, i) : At(y, i)).ToArray();
        return new Partial(result, condition.Scalar && x.Scalar && y.Scalar);
    }

    /// <summary>Equality of two shape elements: decided for sizes, for equal expressions, and for a size against a negative constant.</summary>
    private static DimExpr? Equal(DimExpr? x, DimExpr? y)
    {
        if (x is null || y is null)
        {
            return null;
        }

        if (x == y)
        {
            return DimExpr.Const(1);
        }

        if (x.IsConstant && y.IsConstant)
        {
            return DimExpr.Const(0);
        }

        return (x.NonNegative && y.Constant < 0) || (y.NonNegative && x.Constant < 0) ? DimExpr.Const(0) : null;
    }

    /// <summary>
    /// ONNX integer Div truncates toward zero: for two sizes that is exact, for a non-negative expression
    /// and a positive constant it is the floor, otherwise only an exact quotient is known.
    /// </summary>
    private static DimExpr? Divide(DimExpr? x, DimExpr? y)
    {
        if (x is null || y is null || y.Constant == 0)
        {
            return null;
        }

        if (x.Constant is { } p && y.Constant is { } q)
        {
            return p == long.MinValue && q == -1 ? null : DimExpr.Const(p / q);
        }

        return y.Constant is { } divisor && divisor > 0 ? DimExpr.FloorDivide(x, divisor) : DimExpr.ExactDivide(x, y);
    }
}
