using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Evaluation;

/// <summary>Elementwise evaluators: unary math, numpy-broadcast binary arithmetic and comparisons, Where, Cast.</summary>
internal static class ElementwiseEvaluators
{
    public static IEnumerable<(string OpType, OpEvaluator Evaluator)> All()
    {
        yield return ("Add", Binary((a, b) => a + b, (a, b) => a + b));
        yield return ("Sub", Binary((a, b) => a - b, (a, b) => a - b));
        yield return ("Mul", Binary((a, b) => a * b, (a, b) => a * b));
        yield return ("Div", Binary((a, b) => a / b, (a, b) => b == 0 ? throw new ArgumentException("integer division by zero") : a / b));
        yield return ("Pow", Pow);
        yield return ("Max", Variadic(Math.Max, Math.Max));
        yield return ("Min", Variadic(Math.Min, Math.Min));
        yield return ("Sum", Variadic((a, b) => a + b, (a, b) => a + b));
        yield return ("Equal", Compare((a, b) => a == b, (a, b) => a == b));
        yield return ("Less", Compare((a, b) => a < b, (a, b) => a < b));
        yield return ("LessOrEqual", Compare((a, b) => a <= b, (a, b) => a <= b));
        yield return ("Greater", Compare((a, b) => a > b, (a, b) => a > b));
        yield return ("GreaterOrEqual", Compare((a, b) => a >= b, (a, b) => a >= b));
        yield return ("And", Logical((a, b) => a && b));
        yield return ("Or", Logical((a, b) => a || b));
        yield return ("Xor", Logical((a, b) => a ^ b));
        yield return ("Not", Not);
        yield return ("Where", Where);
        yield return ("Cast", Cast);
        yield return ("CastLike", CastLike);
        yield return ("Neg", Unary(x => -x, x => -x));
        yield return ("Abs", Unary(Math.Abs, Math.Abs));
        yield return ("Sign", Unary(x => Math.Sign(x), x => Math.Sign(x)));
        yield return ("Relu", Unary(x => Math.Max(x, 0), x => Math.Max(x, 0)));
        yield return ("Floor", Unary(Math.Floor, null));
        yield return ("Ceil", Unary(Math.Ceiling, null));
        yield return ("Round", Unary(x => Math.Round(x, MidpointRounding.ToEven), null));
        yield return ("Sqrt", Unary(Math.Sqrt, null));
        yield return ("Reciprocal", Unary(x => 1 / x, null));
        yield return ("Exp", Unary(Math.Exp, null));
        yield return ("Log", Unary(Math.Log, null));
        yield return ("Sin", Unary(Math.Sin, null));
        yield return ("Cos", Unary(Math.Cos, null));
        yield return ("Tan", Unary(Math.Tan, null));
        yield return ("Tanh", Unary(Math.Tanh, null));
        yield return ("Sigmoid", Unary(x => 1 / (1 + Math.Exp(-x)), null));
        yield return ("Erf", Unary(SpecialFunctions.Erf, null));
    }

    private static OpEvaluator Unary(Func<double, double> real, Func<long, long>? integer) => context =>
    {
        var x = context.Input(0);
        if (x.IsReal)
        {
            return [HostTensor.Real(x.Type, x.Dims, x.Reals!.Select(real).ToArray())];
        }

        return integer is null ? null : [HostTensor.Integer(x.Type, x.Dims, x.Integers!.Select(integer).ToArray())];
    };

    private static OpEvaluator Binary(Func<double, double, double> real, Func<long, long, long> integer) => context =>
    {
        var a = context.Input(0);
        var b = context.Input(1);
        return a.Type != b.Type ? null : [Apply(a, b, real, integer)];
    };

    private static OpEvaluator Variadic(Func<double, double, double> real, Func<long, long, long> integer) => context =>
    {
        var result = context.Input(0);
        for (var i = 1; i < context.Inputs.Count; i++)
        {
            var next = context.Input(i);
            if (next.Type != result.Type)
            {
                return null;
            }

            result = Apply(result, next, real, integer);
        }

        return [result];
    };

    private static HostTensor Apply(HostTensor a, HostTensor b, Func<double, double, double> real, Func<long, long, long> integer)
    {
        var dims = ShapeMath.Broadcast([a.Dims, b.Dims]) ?? throw new ArgumentException($"shapes {a} and {b} do not broadcast");
        var ia = ShapeMath.BroadcastIndex(a.Dims, dims);
        var ib = ShapeMath.BroadcastIndex(b.Dims, dims);
        if (a.IsReal)
        {
            var values = new double[ia.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = real(a.Reals![ia[i]], b.Reals![ib[i]]);
            }

            return HostTensor.Real(a.Type, dims, values);
        }

        var ints = new long[ia.Length];
        for (var i = 0; i < ints.Length; i++)
        {
            ints[i] = integer(a.Integers![ia[i]], b.Integers![ib[i]]);
        }

        return HostTensor.Integer(a.Type, dims, ints);
    }

    private static IReadOnlyList<HostTensor>? Pow(EvaluationContext context)
    {
        var a = context.Input(0);
        var b = context.Input(1);
        var dims = ShapeMath.Broadcast([a.Dims, b.Dims]) ?? throw new ArgumentException("Pow shapes do not broadcast");
        var ia = ShapeMath.BroadcastIndex(a.Dims, dims);
        var ib = ShapeMath.BroadcastIndex(b.Dims, dims);
        var values = new double[ia.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Math.Pow(a.RealAt(ia[i]), b.RealAt(ib[i]));
        }

        return [HostTensor.FromDoubles(a.Type, dims, values)];
    }

    private static OpEvaluator Compare(Func<double, double, bool> real, Func<long, long, bool> integer) => context =>
    {
        var a = context.Input(0);
        var b = context.Input(1);
        if (a.Type != b.Type)
        {
            return null;
        }

        var dims = ShapeMath.Broadcast([a.Dims, b.Dims]) ?? throw new ArgumentException("comparison shapes do not broadcast");
        var ia = ShapeMath.BroadcastIndex(a.Dims, dims);
        var ib = ShapeMath.BroadcastIndex(b.Dims, dims);
        var values = new long[ia.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var r = a.IsReal ? real(a.Reals![ia[i]], b.Reals![ib[i]]) : integer(a.Integers![ia[i]], b.Integers![ib[i]]);
            values[i] = r ? 1 : 0;
        }

        return [HostTensor.Integer(DataType.Bool, dims, values)];
    };

    private static OpEvaluator Logical(Func<bool, bool, bool> op) => context =>
    {
        var a = context.Input(0);
        var b = context.Input(1);
        return a.Type != DataType.Bool || b.Type != DataType.Bool ? null : [Apply(a, b, (x, y) => 0, (x, y) => op(x != 0, y != 0) ? 1 : 0)];
    };

    private static IReadOnlyList<HostTensor>? Not(EvaluationContext context)
    {
        var x = context.Input(0);
        return x.Type != DataType.Bool ? null : [HostTensor.Integer(DataType.Bool, x.Dims, x.Integers!.Select(v => v == 0 ? 1L : 0L).ToArray())];
    }

    private static IReadOnlyList<HostTensor>? Where(EvaluationContext context)
    {
        var c = context.Input(0);
        var x = context.Input(1);
        var y = context.Input(2);
        if (c.Type != DataType.Bool || x.Type != y.Type)
        {
            return null;
        }

        var dims = ShapeMath.Broadcast([c.Dims, x.Dims, y.Dims]) ?? throw new ArgumentException("Where shapes do not broadcast");
        var ic = ShapeMath.BroadcastIndex(c.Dims, dims);
        var ix = ShapeMath.BroadcastIndex(x.Dims, dims);
        var iy = ShapeMath.BroadcastIndex(y.Dims, dims);
        if (x.IsReal)
        {
            var values = new double[ic.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = c.Integers![ic[i]] != 0 ? x.Reals![ix[i]] : y.Reals![iy[i]];
            }

            return [HostTensor.Real(x.Type, dims, values)];
        }

        var ints = new long[ic.Length];
        for (var i = 0; i < ints.Length; i++)
        {
            ints[i] = c.Integers![ic[i]] != 0 ? x.Integers![ix[i]] : y.Integers![iy[i]];
        }

        return [HostTensor.Integer(x.Type, dims, ints)];
    }

    private static IReadOnlyList<HostTensor>? Cast(EvaluationContext context)
    {
        var to = (DataType)context.Node.GetInt("to", 0);
        return HostTensor.Supports(to) ? [Convert(context.Input(0), to)] : null;
    }

    private static IReadOnlyList<HostTensor>? CastLike(EvaluationContext context)
    {
        var to = context.Input(1).Type;
        return [Convert(context.Input(0), to)];
    }

    /// <summary>Cast semantics: reals round to the target precision or truncate toward zero to integers; integers wrap.</summary>
    public static HostTensor Convert(HostTensor x, DataType to)
    {
        if (x.IsReal)
        {
            return HostTensor.FromDoubles(to, x.Dims, x.AsDoubles());
        }

        return to.IsFloatingPoint()
            ? HostTensor.Real(to, x.Dims, x.AsDoubles())
            : HostTensor.Integer(to, x.Dims, to == DataType.Bool ? x.Integers!.Select(v => v != 0 ? 1L : 0L).ToArray() : x.AsLongs());
    }
}
