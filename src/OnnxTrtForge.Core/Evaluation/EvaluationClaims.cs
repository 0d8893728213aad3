using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Evaluation;

/// <summary>
/// What the evaluators claim before they run: the element count of every output, from the input dims
/// (and the shape-valued inputs of ConstantOfShape, Expand and Range) in checked 64-bit arithmetic, bounded
/// by a byte limit; and the element types and values on which forge computes what ONNX Runtime computes
/// bit for bit. Everything outside the claims is left unfolded, never approximated: uint64 is stored as
/// the bits of a long, so only ops that move or wrap bits take it; a float→integer Cast of NaN or of a
/// value outside the target range, Sign of NaN and Abs of the most negative integer are left to the runtime.
/// Which ops take uint64 is the op schema's <see cref="OpSchema.EvaluatesUInt64"/>.
/// </summary>
internal static class EvaluationClaims
{
    /// <summary>True when the evaluator may run: outputs within <paramref name="maxBytes"/> and types and values it matches exactly.</summary>
    public static bool Allow(EvaluationContext context, OpSchema schema, long maxBytes)
    {
        var elements = OutputElements(context);
        if (elements is not { } n || n < 0 || n > Array.MaxLength || n > maxBytes / OutputElementSize(context))
        {
            return false;
        }

        return ExactFor(context, schema);
    }

    /// <summary>Bytes per element of the outputs: from the op's type rule where it fixes one, else the widest input.</summary>
    private static int OutputElementSize(EvaluationContext c)
    {
        var node = c.Node;
        var type = node.OpType switch
        {
            "Cast" => CastTarget(c),
            "CastLike" => c.Input(1).Type,
            "ConstantOfShape" => node.Attributes.TryGetValue("value", out var v) && v.T is { } t ? t.Type : DataType.Float,
            "Shape" or "Size" => DataType.Int64,
            "Equal" or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual" or "And" or "Or" or "Xor" or "Not" => DataType.Bool,
            _ => DataType.Undefined,
        };
        var size = type == DataType.Undefined
            ? c.Inputs.OfType<HostTensor>().Select(x => x.Type.ElementSize()).DefaultIfEmpty(8).Max()
            : type.ElementSize();
        return Math.Max(size, 1);
    }

    private static bool ExactFor(EvaluationContext c, OpSchema schema)
    {
        var op = c.Node.OpType;
        var inputs = c.Inputs.OfType<HostTensor>().ToList();
        if (inputs.Any(t => t.Type == DataType.UInt64) && !schema.EvaluatesUInt64 && !(op == "Cast" && !CastTarget(c).IsFloatingPoint()))
        {
            return false;
        }

        switch (op)
        {
            case "Cast" or "CastLike":
                return CastIsExact(c.Input(0), op == "Cast" ? CastTarget(c) : c.Input(1).Type);
            case "Sign":
                return c.Input(0).Reals?.All(v => !double.IsNaN(v)) ?? true;
            case "Abs" or "Neg":
                return c.Input(0).Integers?.All(v => v != MinOf(c.Input(0).Type)) ?? true;
            case "Div":
                // integer division of the most negative value by -1 overflows in the runtime as well
                return c.Input(0).IsReal || c.Input(1).Integers!.All(v => v != -1) || c.Input(0).Integers!.All(v => v != MinOf(c.Input(0).Type));
        }

        // ops whose floating-point results differ from the runtime's in the last bits claim integer inputs only
        if (!schema.EvaluatesReals)
        {
            return inputs.All(t => !t.IsReal);
        }

        // the runtime's Where turns a selected -0.0 into +0.0; Pow runs through std::pow and casts out-of-range integers
        if ((op == "Where" && inputs.Skip(1).Any(t => t.Reals?.Any(v => v == 0 && double.IsNegative(v)) == true)) || op == "Pow")
        {
            return false;
        }

        // NaN: the runtime's max/min keep one operand or the other depending on its order of comparison
        if (op is "Max" or "Min" or "Relu" or "ReduceMax" or "ReduceMin" && inputs.Any(t => t.Reals?.Any(double.IsNaN) == true))
        {
            return false;
        }

        // Reductions accumulate in double here: exact for integers small enough that no sum leaves double's
        // 53 bits, and for Max/Min of reals; mean and product of reals round in another order in the runtime.
        if (op is "ReduceSum" or "ReduceMean" or "ReduceProd" or "ReduceMax" or "ReduceMin")
        {
            var x = c.Input(0);
            return x.IsReal ? op is "ReduceMax" or "ReduceMin" : op != "ReduceProd" && op != "ReduceMean" && x.Count < (1 << 20) && x.Integers!.All(v => Math.Abs((double)v) < 2147483648.0);
        }

        return true;
    }

    private static DataType CastTarget(EvaluationContext c) => (DataType)c.Node.GetInt("to", 0);

    private static bool CastIsExact(HostTensor x, DataType to)
    {
        if (x.Type == DataType.UInt64)
        {
            return !to.IsFloatingPoint();
        }

        if (to == DataType.UInt64)
        {
            return !x.IsReal;
        }

        if (!x.IsReal && to.IsFloatingPoint())
        {
            // long → double → target rounds twice past 2^53, where the runtime converts once
            return x.Integers!.All(v => Math.Abs((double)v) <= 9007199254740992.0);
        }

        if (!x.IsReal || to.IsFloatingPoint() || to == DataType.Bool)
        {
            // double→fp16/bf16 may round twice in the runtime (through float): claim only float sources
            return !(x.Type == DataType.Double && to is DataType.Float16 or DataType.BFloat16);
        }

        // float → integer: truncation is exact only for finite values the target type can hold
        var (min, max) = RangeOf(to);
        return x.Reals!.All(v => double.IsFinite(v) && Math.Truncate(v) >= min && Math.Truncate(v) <= max);
    }

    private static long MinOf(DataType type) => type switch
    {
        DataType.Int64 => long.MinValue,
        DataType.Int32 => int.MinValue,
        DataType.Int16 => short.MinValue,
        DataType.Int8 => sbyte.MinValue,
        _ => long.MinValue,
    };

    private static (double Min, double Max) RangeOf(DataType type) => type switch
    {
        DataType.Int64 => (-9.2233720368547758E18, 9.2233720368547748E18),
        DataType.Int32 => (int.MinValue, int.MaxValue),
        DataType.Int16 => (short.MinValue, short.MaxValue),
        DataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        DataType.UInt32 => (0, uint.MaxValue),
        DataType.UInt16 => (0, ushort.MaxValue),
        DataType.UInt8 => (0, byte.MaxValue),
        _ => (0, -1),
    };

    /// <summary>The number of elements of the largest output, or null when it cannot be known or overflows 64 bits.</summary>
    public static long? OutputElements(EvaluationContext c)
    {
        try
        {
            checked
            {
                var inputs = c.Inputs.OfType<HostTensor>().ToList();
                var counts = inputs.Select(t => Product(t.Dims)).ToList();
                if (counts.Any(n => n is null))
                {
                    return null;
                }

                var largest = counts.Select(n => n!.Value).DefaultIfEmpty(0).Max();
                return c.Node.OpType switch
                {
                    "Constant" => c.Node.Attributes.Values.Select(a => a.T?.Dims).OfType<long[]>().Select(d => Product(d) ?? long.MaxValue).DefaultIfEmpty(1).Max(),
                    "ConstantOfShape" => Product(c.Input(0).AsLongs()),
                    "Expand" => BroadcastCount([c.Input(0).Dims, c.Input(1).AsLongs()]),
                    "Range" => RangeCount(c.Input(0), c.Input(1), c.Input(2)),
                    "Gather" => GatherCount(c),
                    "Concat" => counts.Aggregate(0L, (n, t) => checked(n + t!.Value)),
                    "Shape" => c.Input(0).Rank,
                    "Size" => 1,
                    _ when inputs.Count == 0 => null,
                    _ => BroadcastCount(inputs.Select(t => t.Dims).ToList()) is { } b ? Math.Max(b, largest) : largest,
                };
            }
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>Checked product; null for a negative dim.</summary>
    private static long? Product(IEnumerable<long> dims)
    {
        long n = 1;
        foreach (var d in dims)
        {
            if (d < 0)
            {
                return null;
            }

            n = checked(n * d);
        }

        return n;
    }

    private static long? BroadcastCount(IReadOnlyList<long[]> shapes)
    {
        if (shapes.Any(s => s.Any(d => d < 0)))
        {
            return null;
        }

        var rank = shapes.Max(s => s.Length);
        long n = 1;
        for (var i = 0; i < rank; i++)
        {
            long size = 1;
            foreach (var s in shapes)
            {
                var k = i - (rank - s.Length);
                if (k >= 0 && s[k] != 1)
                {
                    size = size == 1 || size == s[k] ? s[k] : -1;
                }
            }

            if (size < 0)
            {
                return null;
            }

            n = checked(n * size);
        }

        return n;
    }

    private static long? GatherCount(EvaluationContext c)
    {
        var data = c.Input(0);
        var axis = c.Node.GetInt("axis", 0);
        axis = axis < 0 ? axis + data.Rank : axis;
        if (axis < 0 || axis >= data.Rank)
        {
            return null;
        }

        var outer = Product(data.Dims.Where((_, i) => i != axis));
        var indices = Product(c.Input(1).Dims);
        return outer is null || indices is null ? null : checked(outer.Value * indices.Value);
    }

    private static long? RangeCount(HostTensor start, HostTensor limit, HostTensor delta)
    {
        if (start.Count != 1 || limit.Count != 1 || delta.Count != 1)
        {
            return null;
        }

        if (!start.IsReal)
        {
            Int128 d = delta.Integers![0];
            if (d == 0)
            {
                return null;
            }

            var span = (Int128)limit.Integers![0] - start.Integers![0];
            var count = span / d + ((span % d != 0 && (span > 0) == (d > 0)) ? 1 : 0);
            return count <= 0 ? 0 : count > long.MaxValue ? null : (long)count;
        }

        var real = Math.Ceiling((limit.Reals![0] - start.Reals![0]) / delta.Reals![0]);
        return !double.IsFinite(real) ? null : real <= 0 ? 0 : real > long.MaxValue / 2 ? null : (long)real;
    }
}
