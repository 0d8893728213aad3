using System.Buffers.Binary;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Evaluation;

/// <summary>
/// A small tensor that forge computes on: floating-point elements held as doubles (rounded to the
/// element type after every operation, so results match a kernel that computes in that type),
/// integer and bool elements as longs. Only constant-folding sized tensors ever live here.
/// </summary>
public sealed class HostTensor
{
    private HostTensor(DataType type, long[] dims, double[]? reals, long[]? integers)
    {
        Type = type;
        Dims = dims;
        Reals = reals;
        Integers = integers;
    }

    public DataType Type { get; }

    public long[] Dims { get; }

    /// <summary>Elements of a floating-point tensor (null otherwise).</summary>
    public double[]? Reals { get; }

    /// <summary>Elements of an integer or bool tensor (null otherwise).</summary>
    public long[]? Integers { get; }

    public int Count => Reals?.Length ?? Integers!.Length;

    public int Rank => Dims.Length;

    public bool IsReal => Reals is not null;

    /// <summary>True for the element types forge can compute on.</summary>
    public static bool Supports(DataType type) => type.IsFloatingPoint() || IsIntegral(type);

    public static bool IsIntegral(DataType type) => type is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8
        or DataType.UInt64 or DataType.UInt32 or DataType.UInt16 or DataType.UInt8 or DataType.Bool;

    public static HostTensor Real(DataType type, long[] dims, double[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Round(type, values[i]);
        }

        return new HostTensor(type, dims, values, null);
    }

    public static HostTensor Integer(DataType type, long[] dims, long[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Wrap(type, values[i]);
        }

        return new HostTensor(type, dims, null, values);
    }

    /// <summary>A tensor of <paramref name="type"/> from doubles (rounded or truncated toward zero as a Cast would).</summary>
    public static HostTensor FromDoubles(DataType type, long[] dims, double[] values) =>
        type.IsFloatingPoint() ? Real(type, dims, values)
        : type == DataType.Bool ? Integer(type, dims, values.Select(v => v != 0 ? 1L : 0L).ToArray())
        : Integer(type, dims, values.Select(CastToInteger).ToArray());

    public static HostTensor Int64s(params long[] values) => Integer(DataType.Int64, [values.Length], values);

    /// <summary>Reads an IR tensor; null when its element type is one forge does not compute on.</summary>
    public static HostTensor? FromTensor(Tensor tensor)
    {
        if (!Supports(tensor.Type) || tensor.Strings is not null)
        {
            return null;
        }

        var dims = (long[])tensor.Dims.Clone();
        return tensor.Type.IsFloatingPoint()
            ? new HostTensor(tensor.Type, dims, tensor.ToDoubleArray(), null)
            : new HostTensor(tensor.Type, dims, null, tensor.ToInt64Array());
    }

    public Tensor ToTensor(string name = "")
    {
        var size = Type.ElementSize();
        var bytes = new byte[Count * size];
        var span = bytes.AsSpan();
        for (var i = 0; i < Count; i++)
        {
            var slot = span[(i * size)..];
            switch (Type)
            {
                case DataType.Float: BinaryPrimitives.WriteSingleLittleEndian(slot, (float)Reals![i]); break;
                case DataType.Double: BinaryPrimitives.WriteDoubleLittleEndian(slot, Reals![i]); break;
                case DataType.Float16: BinaryPrimitives.WriteHalfLittleEndian(slot, (Half)Reals![i]); break;
                case DataType.BFloat16: BinaryPrimitives.WriteUInt16LittleEndian(slot, BFloat16Bits(Reals![i])); break;
                case DataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(slot, Integers![i]); break;
                case DataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(slot, (ulong)Integers![i]); break;
                case DataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(slot, (int)Integers![i]); break;
                case DataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(slot, (uint)Integers![i]); break;
                case DataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(slot, (short)Integers![i]); break;
                case DataType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(slot, (ushort)Integers![i]); break;
                case DataType.Int8: slot[0] = (byte)(sbyte)Integers![i]; break;
                case DataType.UInt8 or DataType.Bool: slot[0] = (byte)Integers![i]; break;
                default: throw new InvalidOperationException($"cannot store {Type.OnnxName()}");
            }
        }

        return new Tensor(Type, (long[])Dims.Clone(), TensorData.FromBytes(bytes), name);
    }

    public long ByteCount => Type.ByteCount(Count);

    /// <summary>Element i as a double (integers converted).</summary>
    public double RealAt(int i) => Reals is not null ? Reals[i] : Integers![i];

    /// <summary>Element i as a long (reals truncated toward zero).</summary>
    public long IntegerAt(int i) => Integers is not null ? Integers[i] : CastToInteger(Reals![i]);

    public double[] AsDoubles() => Reals is not null ? (double[])Reals.Clone() : Integers!.Select(v => (double)v).ToArray();

    public long[] AsLongs() => Integers is not null ? (long[])Integers.Clone() : Reals!.Select(CastToInteger).ToArray();

    public HostTensor WithDims(long[] dims) => new(Type, dims, Reals, Integers);

    /// <summary>Gathers elements by flat index into a tensor of the same type.</summary>
    public HostTensor Select(long[] dims, int[] indices) => Reals is not null
        ? new HostTensor(Type, dims, indices.Select(i => Reals[i]).ToArray(), null)
        : new HostTensor(Type, dims, null, indices.Select(i => Integers![i]).ToArray());

    /// <summary>Rounds a value to the precision of a floating-point element type.</summary>
    public static double Round(DataType type, double value) => type switch
    {
        DataType.Float => (float)value,
        DataType.Float16 => (double)(Half)value,
        DataType.BFloat16 => BitConverter.Int32BitsToSingle(BFloat16Bits(value) << 16),
        _ => value,
    };

    /// <summary>Wraps an integer to the range of an integer element type (two's complement), bool to 0/1.</summary>
    public static long Wrap(DataType type, long value) => type switch
    {
        DataType.Int32 => (int)value,
        DataType.UInt32 => (uint)value,
        DataType.Int16 => (short)value,
        DataType.UInt16 => (ushort)value,
        DataType.Int8 => (sbyte)value,
        DataType.UInt8 => (byte)value,
        DataType.Bool => value != 0 ? 1 : 0,
        _ => value,
    };

    private static long CastToInteger(double value) =>
        double.IsNaN(value) ? 0 : value >= 9.2233720368547758E18 ? long.MaxValue : value <= -9.2233720368547758E18 ? long.MinValue : (long)Math.Truncate(value);

    private static ushort BFloat16Bits(double value)
    {
        var bits = (uint)BitConverter.SingleToInt32Bits((float)value);
        if (float.IsNaN((float)value))
        {
            return 0x7FC0;
        }

        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public override string ToString() => $"{Type.OnnxName()}[{string.Join(",", Dims)}]";
}
