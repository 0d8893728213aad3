namespace OnnxTrtForge.Core.Ir;

/// <summary>ONNX tensor element types (values match <c>TensorProto.DataType</c>).</summary>
public enum DataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
    Float8E4M3FN = 17,
    Float8E4M3FNUZ = 18,
    Float8E5M2 = 19,
    Float8E5M2FNUZ = 20,
    UInt4 = 21,
    Int4 = 22,
    Float4E2M1 = 23,
    Float8E8M0 = 24,
    UInt2 = 25,
    Int2 = 26,
}

public static class DataTypes
{
    /// <summary>Bytes per element, or 0 for strings and sub-byte types.</summary>
    public static int ElementSize(this DataType type) => type switch
    {
        DataType.Float or DataType.Int32 or DataType.UInt32 => 4,
        DataType.UInt8 or DataType.Int8 or DataType.Bool => 1,
        DataType.UInt16 or DataType.Int16 or DataType.Float16 or DataType.BFloat16 => 2,
        DataType.Int64 or DataType.Double or DataType.UInt64 or DataType.Complex64 => 8,
        DataType.Complex128 => 16,
        DataType.Float8E4M3FN or DataType.Float8E4M3FNUZ or DataType.Float8E5M2 or DataType.Float8E5M2FNUZ or DataType.Float8E8M0 => 1,
        _ => 0,
    };

    /// <summary>Bytes that <paramref name="count"/> elements occupy in raw_data (sub-byte types packed).</summary>
    public static long ByteCount(this DataType type, long count) => type switch
    {
        DataType.UInt4 or DataType.Int4 or DataType.Float4E2M1 => (count + 1) / 2,
        DataType.UInt2 or DataType.Int2 => (count + 3) / 4,
        _ => count * type.ElementSize(),
    };

    /// <summary>Whether <paramref name="value"/> is an element type ONNX's TensorProto.DataType defines (UNDEFINED, 0, is not one).</summary>
    public static bool IsDefined(long value) => value is >= (long)DataType.Float and <= (long)DataType.Int2;

    public static bool IsFloatingPoint(this DataType type) =>
        type is DataType.Float or DataType.Float16 or DataType.Double or DataType.BFloat16;

    /// <summary>The lower-case ONNX spelling (float, float16, int64...).</summary>
    public static string OnnxName(this DataType type) => type switch
    {
        DataType.Float => "float",
        DataType.Float16 => "float16",
        DataType.BFloat16 => "bfloat16",
        DataType.Double => "double",
        _ => type.ToString().ToLowerInvariant(),
    };
}
