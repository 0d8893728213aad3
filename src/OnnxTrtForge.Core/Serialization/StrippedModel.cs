using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>
/// Splits a serialized ModelProto into a small message without the main graph's initializer
/// <c>raw_data</c>, plus the (offset, length) of each removed payload in initializer order.
/// </summary>
internal static class StrippedModel
{
    private const int ModelGraph = 7;
    private const int GraphInitializer = 5;
    private const int TensorRawData = 9;

    public static (byte[] Stripped, List<(long Offset, long Length)?> RawSlices) Split(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length, string file)
    {
        var scanner = new WireScanner(handle, length, file);
        var slices = new List<(long, long)?>();
        using var output = new MemoryStream();
        var position = 0L;
        while (position < length)
        {
            var field = scanner.Next(position, length);
            if (field.Number == ModelGraph && field.WireType == 2)
            {
                var graph = StripGraph(scanner, field.ValueStart, field.End, slices);
                WriteTag(output, ModelGraph, 2);
                WriteVarint(output, (ulong)graph.Length);
                output.Write(graph);
            }
            else
            {
                output.Write(scanner.Bytes(field.Start, field.End));
            }

            position = field.End;
        }

        return (output.ToArray(), slices);
    }

    private static byte[] StripGraph(WireScanner scanner, long start, long end, List<(long, long)?> slices)
    {
        using var output = new MemoryStream();
        var position = start;
        while (position < end)
        {
            var field = scanner.Next(position, end);
            if (field.Number == GraphInitializer && field.WireType == 2)
            {
                var tensor = StripTensor(scanner, field.ValueStart, field.End, out var raw);
                slices.Add(raw);
                WriteTag(output, GraphInitializer, 2);
                WriteVarint(output, (ulong)tensor.Length);
                output.Write(tensor);
            }
            else
            {
                output.Write(scanner.Bytes(field.Start, field.End));
            }

            position = field.End;
        }

        return output.ToArray();
    }

    private static byte[] StripTensor(WireScanner scanner, long start, long end, out (long, long)? raw)
    {
        raw = null;
        using var output = new MemoryStream();
        var position = start;
        while (position < end)
        {
            var field = scanner.Next(position, end);
            if (field.Number == TensorRawData)
            {
                if (field.WireType != 2)
                {
                    throw scanner.Corrupt(field.Start, "raw_data with a wire type other than length-delimited");
                }

                raw = (field.ValueStart, field.End - field.ValueStart);
            }
            else
            {
                output.Write(scanner.Bytes(field.Start, field.End));
            }

            position = field.End;
        }

        return output.ToArray();
    }

    internal static void WriteTag(Stream stream, int field, int wireType) => WriteVarint(stream, (ulong)((field << 3) | wireType));

    internal static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        stream.WriteByte((byte)value);
    }

    internal static int VarintSize(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }
}
