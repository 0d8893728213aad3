using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Evaluation;

/// <summary>
/// The generated corpus behind <see cref="DifferentialFoldingTests"/>: single-node models, one per op,
/// element type and input shape (broadcasting, negative axes, empty tensors), fed the values where
/// folding goes wrong: int64/uint64 extremes, NaN, ±Inf, ±0, halfway cases, values out of the fp16 and
/// integer ranges. Every input is a constant, so forge can fold the node and ONNX Runtime can run it.
/// </summary>
internal static class DifferentialFoldingCorpus
{
    public sealed record Case(string Name, string Op, DataType Type, long Opset, Tensor[] Inputs, Attribute[] Attributes, int Outputs = 1)
    {
        public override string ToString() => Name;
    }

    public static readonly DataType[] Types =
    [
        DataType.Float, DataType.Double, DataType.Float16, DataType.BFloat16, DataType.Int8, DataType.UInt8, DataType.Int16,
        DataType.UInt16, DataType.Int32, DataType.UInt32, DataType.Int64, DataType.UInt64, DataType.Bool,
    ];

    private static readonly string[] Unary = ["Neg", "Abs", "Sign", "Relu", "Floor", "Ceil", "Round", "Sqrt", "Reciprocal", "Exp", "Log", "Sin", "Cos", "Tan", "Tanh", "Sigmoid", "Erf", "Not", "Identity"];

    private static readonly string[] Binary = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor"];

    /// <summary>Twelve values per type: the edges of the type and the values conversions get wrong.</summary>
    public static Tensor Values(DataType type, long[] dims, int shift = 0)
    {
        var count = (int)dims.Aggregate(1L, (a, b) => a * b);
        double[] reals = [0, -0.0, 1, -1.5, 2.5, 0.1, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 65504, 70000, 1e-8,
            -2.5, 3.7, 127.5, -128.5, 255.9, 2147483648.0, -2147483649.0, 9.3e18, -9.3e18, 1e30, 5e-324, 0.5];
        long[] signed = [0, 1, -1, long.MinValue, long.MaxValue, 7, -8, 2, 3, int.MinValue, int.MaxValue, 255, -128, 65535, 1L << 53, (1L << 53) + 1, -5, 4];
        long[] unsigned = [0, 1, unchecked((long)ulong.MaxValue), long.MinValue, long.MaxValue, 7, 8, 2, 3, 1L << 63 >>> 1, 255, 65535, 4, 5];
        var result = new double[count];
        var ints = new long[count];
        for (var i = 0; i < count; i++)
        {
            var k = i + shift;
            result[i] = reals[k % reals.Length];
            ints[i] = type == DataType.UInt64 ? unsigned[k % unsigned.Length] : signed[k % signed.Length];
        }

        return type.IsFloatingPoint()
            ? HostTensor.Real(type, dims, result).ToTensor()
            : HostTensor.Integer(type, dims, ints).ToTensor();
    }

    private static Tensor I64(params long[] values) => Tensor.FromInt64s([values.Length], values);

    private static Attribute To(DataType t) => Attribute.Int("to", (long)t);

    public static IEnumerable<Case> All()
    {
        foreach (var type in Types)
        {
            var t = type.OnnxName();
            foreach (var op in Unary)
            {
                yield return new($"{op} {t} [3,8]", op, type, 17, [Values(type, [3, 8])], []);
                yield return new($"{op} {t} empty [0,4]", op, type, 17, [Values(type, [0, 4])], []);
            }

            foreach (var op in Binary)
            {
                yield return new($"{op} {t} [4,6]x[4,6]", op, type, 17, [Values(type, [4, 6]), Values(type, [4, 6], shift: 5)], []);
                yield return new($"{op} {t} broadcast [2,1,6]x[3,1]", op, type, 17, [Values(type, [2, 1, 6]), Values(type, [3, 1], shift: 3)], []);
                yield return new($"{op} {t} empty [0,3]x[3]", op, type, 17, [Values(type, [0, 3]), Values(type, [3])], []);
            }

            yield return new($"Where {t} broadcast", "Where", type, 17, [Values(DataType.Bool, [2, 1, 6]), Values(type, [3, 1]), Values(type, [6], shift: 4)], []);
            foreach (var to in Types)
            {
                yield return new($"Cast {t} to {to.OnnxName()}", "Cast", type, 17, [Values(type, [4, 12])], [To(to)]);
            }

            yield return new($"CastLike {t} to float16", "CastLike", type, 17, [Values(type, [24]), Values(DataType.Float16, [1])], []);
            yield return new($"Reshape {t} -1", "Reshape", type, 17, [Values(type, [2, 3, 4]), I64(4, -1)], []);
            yield return new($"Reshape {t} 0 copies", "Reshape", type, 17, [Values(type, [2, 3, 4]), I64(0, 0, 2, 2)], []);
            yield return new($"Unsqueeze {t} negative axes", "Unsqueeze", type, 17, [Values(type, [3, 4]), I64(-1, 0)], []);
            yield return new($"Squeeze {t} negative axis", "Squeeze", type, 17, [Values(type, [3, 1, 4]), I64(-2)], []);
            yield return new($"Flatten {t} axis -1", "Flatten", type, 17, [Values(type, [2, 3, 4])], [Attribute.Int("axis", -1)]);
            yield return new($"Concat {t} axis -1", "Concat", type, 17, [Values(type, [2, 3]), Values(type, [2, 0]), Values(type, [2, 2], shift: 7)], [Attribute.Int("axis", -1)]);
            yield return new($"Gather {t} negative indices", "Gather", type, 17, [Values(type, [4, 5]), I64(-1, 0, 2, -4)], [Attribute.Int("axis", 0)]);
            yield return new($"Gather {t} axis -1", "Gather", type, 17, [Values(type, [4, 5]), Tensor.FromInt64s([2, 2], [4, -5, 0, 1])], [Attribute.Int("axis", -1)]);
            yield return new($"Slice {t} negative step", "Slice", type, 17, [Values(type, [6, 5]), I64(-1), I64(long.MinValue), I64(0), I64(-2)], []);
            yield return new($"Slice {t} extreme step", "Slice", type, 17, [Values(type, [6, 5]), I64(0), I64(long.MaxValue), I64(1), I64(long.MaxValue)], []);
            yield return new($"Slice {t} extreme negative step", "Slice", type, 17, [Values(type, [6, 5]), I64(long.MaxValue), I64(long.MinValue), I64(-1), I64(long.MinValue)], []);
            yield return new($"Slice {t} empty range", "Slice", type, 17, [Values(type, [6, 5]), I64(4), I64(2), I64(0), I64(1)], []);
            yield return new($"Transpose {t}", "Transpose", type, 17, [Values(type, [2, 3, 4])], [Attribute.IntList("perm", [2, 0, 1])]);
            yield return new($"Expand {t} broadcast", "Expand", type, 17, [Values(type, [3, 1]), I64(2, 1, 4)], []);
            yield return new($"Split {t} axis -1", "Split", type, 17, [Values(type, [2, 7]), I64(3, 4)], [Attribute.Int("axis", -1)], Outputs: 2);
            yield return new($"Shape {t} start -2", "Shape", type, 17, [Values(type, [2, 3, 4])], [Attribute.Int("start", -2)]);
            yield return new($"Size {t}", "Size", type, 17, [Values(type, [2, 0, 4])], []);
            yield return new($"ConstantOfShape {t}", "ConstantOfShape", type, 17, [I64(2, 3)], [Attribute.TensorValue("value", Values(type, [1], shift: 3))]);
            yield return new($"ReduceSum {t} axis -1", "ReduceSum", type, 17, [Values(type, [3, 5]), I64(-1)], []);
            foreach (var reduce in new[] { "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd" })
            {
                yield return new($"{reduce} {t} axis -1", reduce, type, 17, [Values(type, [3, 5])], [Attribute.IntList("axes", [-1])]);
            }

            yield return new($"Range {t}", "Range", type, 17, [Values(type, [], shift: 0), Values(type, [], shift: 13), Values(type, [], shift: 2)], []);
        }

        yield return new("ConstantOfShape huge shape", "ConstantOfShape", DataType.Float, 17, [I64(1L << 40, 1L << 30)], []);
        yield return new("ConstantOfShape overflowing shape", "ConstantOfShape", DataType.Float, 17, [I64(1L << 62, 8)], []);
        yield return new("ConstantOfShape negative dim", "ConstantOfShape", DataType.Float, 17, [I64(-1, 4)], []);
        yield return new("Range int64 overflowing count", "Range", DataType.Int64, 17, [Tensor.Scalar(long.MinValue), Tensor.Scalar(long.MaxValue), Tensor.Scalar(1L)], []);
        yield return new("Expand to a huge shape", "Expand", DataType.Float, 17, [Values(DataType.Float, [1]), I64(1L << 33, 1L << 33)], []);
    }
}
