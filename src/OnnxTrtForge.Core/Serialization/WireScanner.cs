using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>
/// Walks protobuf wire format in a file with 64-bit offsets, so that messages above 2 GiB can be split
/// without copying: initializer <c>raw_data</c> is skipped (never read), everything else is copied into a
/// small "stripped" message that Google.Protobuf then parses. Reads go through a small window of
/// positional reads rather than a memory map, so scanning a 5 GB model touches only its headers.
/// </summary>
internal sealed class WireScanner(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length, string file)
{
    private readonly byte[] window = new byte[1 << 16];
    private long windowStart = -1;
    private int windowLength;

    private byte At(long position)
    {
        if (position < windowStart || position >= windowStart + windowLength)
        {
            windowStart = position;
            windowLength = RandomAccess.Read(handle, window, position);
            if (windowLength <= 0)
            {
                throw Corrupt(position, "unexpected end of file");
            }
        }

        return window[position - windowStart];
    }

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

            var b = At(position++);
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw Corrupt(position, "malformed varint");
    }

    public byte[] Bytes(long start, long end)
    {
        if (end - start > int.MaxValue / 2)
        {
            throw Corrupt(start, $"a non-weight field of {end - start} bytes is too large");
        }

        var bytes = new byte[end - start];
        if (RandomAccess.Read(handle, bytes, start) != bytes.Length)
        {
            throw Corrupt(start, "unexpected end of file");
        }

        return bytes;
    }

    public long Length => length;

    public ForgeInputException Corrupt(long offset, string what) =>
        new($"{file}: corrupt ONNX protobuf at byte {offset}: {what}");
}
