using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// An immutable tensor: element type, dimensions and payload. Numeric payloads are little-endian raw
/// bytes (the raw_data layout); string tensors keep their elements in <see cref="Strings"/>.
/// </summary>
public sealed class Tensor
{
    public Tensor(DataType type, long[] dims, TensorData data, string name = "")
    {
        Type = type;
        Dims = dims;
        Data = data;
        Name = name;
    }

    public Tensor(long[] dims, IReadOnlyList<byte[]> strings, string name = "")
    {
        Type = DataType.String;
        Dims = dims;
        Data = TensorData.Empty;
        Strings = strings;
        Name = name;
    }

    public DataType Type { get; }

    public long[] Dims { get; }

    public TensorData Data { get; }

    public IReadOnlyList<byte[]>? Strings { get; }

    public string Name { get; init; }

    public string DocString { get; init; } = "";

    public IReadOnlyDictionary<string, string> MetadataProps { get; init; } = new Dictionary<string, string>();

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dims)
            {
                n *= d;
            }

            return n;
        }
    }

    public long ByteLength => Data.Length;

    public Tensor WithName(string name) => Strings is null
        ? new Tensor(Type, Dims, Data, name) { DocString = DocString, MetadataProps = MetadataProps }
        : new Tensor(Dims, Strings, name) { DocString = DocString, MetadataProps = MetadataProps };

    public static Tensor FromArray<T>(DataType type, long[] dims, T[] values, string name = "")
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        return new Tensor(type, dims, TensorData.FromBytes(bytes), name);
    }

    public static Tensor FromFloats(long[] dims, float[] values, string name = "") => FromArray(DataType.Float, dims, values, name);

    public static Tensor FromInt64s(long[] dims, long[] values, string name = "") => FromArray(DataType.Int64, dims, values, name);

    public static Tensor Scalar(long value) => FromInt64s([], [value]);

    /// <summary>Reads integer elements (int8..uint64, bool) as long values.</summary>
    public long[] ToInt64Array()
    {
        var span = Data.Span;
        var n = (int)ElementCount;
        var result = new long[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = Type switch
            {
                DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(span[(i * 8)..]),
                DataType.UInt64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(span[(i * 8)..]),
                DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(span[(i * 4)..]),
                DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(span[(i * 4)..]),
                DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(span[(i * 2)..]),
                DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(span[(i * 2)..]),
                DataType.Int8 => (sbyte)span[i],
                DataType.UInt8 or DataType.Bool => span[i],
                _ => throw new InvalidOperationException($"tensor '{Name}' of type {Type} is not an integer tensor"),
            };
        }

        return result;
    }

    /// <summary>Reads floating-point elements (float, float16, bfloat16, double) as double values.</summary>
    public double[] ToDoubleArray()
    {
        var span = Data.Span;
        var n = (int)ElementCount;
        var result = new double[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = Type switch
            {
                DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(span[(i * 4)..]),
                DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(span[(i * 8)..]),
                DataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(span[(i * 2)..]),
                DataType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(span[(i * 2)..]) << 16),
                _ => ToInt64Array()[i],
            };
        }

        return result;
    }

    public override string ToString() => $"{Name}: {Type.OnnxName()}[{string.Join(",", Dims)}]";
}
