using System.Runtime.InteropServices;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Fp16;

/// <summary>float32 → float16/bfloat16 element conversion (round to nearest even), with overflow detection.</summary>
internal static class HalfConversion
{
    /// <summary>How many finite float32 elements would become ±infinity in <paramref name="target"/>.</summary>
    public static long CountOverflows(Tensor tensor, DataType target)
    {
        // round to nearest even sends |x| >= 65520 to fp16 infinity, and |x| >= 0x7F7F8000 to bf16 infinity
        var limit = target == DataType.Float16 ? BitConverter.SingleToUInt32Bits(65520f) : 0x7F7F8000u;
        var words = MemoryMarshal.Cast<byte, uint>(tensor.Data.Span);
        long count = 0;
        foreach (var word in words)
        {
            var magnitude = word & 0x7FFFFFFFu;
            if (magnitude >= limit && magnitude < 0x7F800000u)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>A new tensor of <paramref name="target"/> holding the float32 tensor's values; overflows become ±max when clamping, else ±inf.</summary>
    public static Tensor Convert(Tensor tensor, DataType target, bool clamp, string name)
    {
        // raw_data is little-endian, like every platform .NET runs ONNX models on (Tensor.FromArray relies on it too)
        var source = MemoryMarshal.Cast<byte, float>(tensor.Data.Span);
        var result = new byte[source.Length * 2];
        var destination = MemoryMarshal.Cast<byte, ushort>(result.AsSpan());
        var infinity = target == DataType.Float16 ? (ushort)0x7C00 : (ushort)0x7F80;
        var max = (ushort)(infinity - 1);
        for (var i = 0; i < source.Length; i++)
        {
            var bits = FromFloat(source[i], target);
            if (clamp && (bits & 0x7FFF) == infinity && float.IsFinite(source[i]))
            {
                bits = (ushort)(max | (bits & 0x8000));
            }

            destination[i] = bits;
        }

        return new Tensor(target, tensor.Dims, TensorData.FromBytes(result), name) { DocString = tensor.DocString, MetadataProps = tensor.MetadataProps };
    }

    /// <summary>A float tensor from a list attribute (Constant's value_float / value_floats).</summary>
    public static Tensor FromFloats(IReadOnlyList<float> values, bool scalar, DataType target, bool clamp)
    {
        var f32 = Tensor.FromFloats(scalar ? [] : [values.Count], values.ToArray());
        return Convert(f32, target, clamp, "");
    }

    public static ushort FromFloat(float value, DataType target)
    {
        if (target == DataType.Float16)
        {
            return BitConverter.HalfToUInt16Bits((Half)value);
        }

        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        var rounding = ((bits >> 16) & 1) + 0x7FFF;
        return (ushort)((bits + rounding) >> 16);
    }

    public static float ToFloat(ushort bits, DataType target) => target == DataType.Float16
        ? (float)BitConverter.UInt16BitsToHalf(bits)
        : BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
