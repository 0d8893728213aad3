using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>
/// Walks protobuf wire format over a memory-mapped file with 64-bit offsets, so that messages above
/// 2 GiB can be split without copying: initializer <c>raw_data</c> stays in the map, everything else
/// is copied into a small "stripped" message that Google.Protobuf then parses.
/// </summary>
internal sealed unsafe class WireScanner(byte* data, long length, string file)
{
    public readonly record struct Field(int Number, int WireType, long Start, long ValueStart, long End);

    public Field Next(long position, long limit)
    {
        var start = position;
        var tag = ReadVarint(ref position, limit);
        var number = (int)(tag >> 3);
        var wireType = (int)(tag & 7);
        if (number <= 0 || tag >> 3 > int.MaxValue)
        {
            throw Corrupt(start, $"invalid field number {tag >> 3}");
        }

        long valueStart;
        switch (wireType)
        {
            case 0:
                valueStart = position;
                ReadVarint(ref position, limit);
                break;
            case 1:
                valueStart = position;
                position += 8;
                break;
            case 2:
                var len = ReadVarint(ref position, limit);
                if (len > (ulong)(limit - position))
                {
                    throw Corrupt(start, $"field {number} declares {len} bytes but only {limit - position} remain");
                }

                valueStart = position;
                position += (long)len;
                break;
            case 5:
                valueStart = position;
                position += 4;
                break;
            default:
                throw Corrupt(start, $"field {number} has unsupported wire type {wireType}");
        }

        if (position > limit)
        {
            throw Corrupt(start, $"field {number} runs past the end of its message");
        }

        return new Field(number, wireType, start, valueStart, position);
    }

    public ulong ReadVarint(ref long position, long limit)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= limit)
            {
                throw Corrupt(position, "truncated varint");
            }

            var b = data[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw Corrupt(position, "malformed varint");
    }

    public ReadOnlySpan<byte> Bytes(long start, long end)
    {
        if (end - start > int.MaxValue)
        {
            throw Corrupt(start, $"a non-weight message of {end - start} bytes is too large");
        }

        return new ReadOnlySpan<byte>(data + start, (int)(end - start));
    }

    public long Length => length;

    public ForgeInputException Corrupt(long offset, string what) =>
        new($"{file}: corrupt ONNX protobuf at byte {offset}: {what}");
}
