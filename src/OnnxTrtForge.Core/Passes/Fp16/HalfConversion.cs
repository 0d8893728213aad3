using System.Numerics;
using System.Runtime.InteropServices;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Fp16;

/// <summary>
/// float32 → float16/bfloat16 element conversion (round to nearest even), with overflow detection.
/// Both read weights in pieces through <see cref="TensorData.Read"/> (positional reads, never the map),
/// so a gigabyte initializer costs a few MiB of memory; <see cref="ConvertLazy"/> defers the conversion
/// to whoever streams the result (the writer), piece by piece.
/// </summary>
internal static class HalfConversion
{
    /// <summary>Source bytes per piece: 1 Mi float32 elements.</summary>
    internal const int PieceBytes = 4 << 20;

    /// <summary>How many finite float32 elements would become ±infinity in <paramref name="target"/>.</summary>
    public static long CountOverflows(Tensor tensor, DataType target)
    {
        // round to nearest even sends |x| >= 65520 to fp16 infinity, and |x| >= 0x7F7F8000 to bf16 infinity
        var limit = target == DataType.Float16 ? BitConverter.SingleToUInt32Bits(65520f) : 0x7F7F8000u;
        var data = tensor.Data;
        var length = data.Length & ~3L;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(PieceBytes, Math.Max(length, 4)));
        try
        {
            long count = 0;
            for (long done = 0; done < length;)
            {
                var n = (int)Math.Min(buffer.Length & ~3, length - done);
                data.Read(done, buffer.AsSpan(0, n));
                count += CountOverflows(MemoryMarshal.Cast<byte, uint>(buffer.AsSpan(0, n)), limit);
                done += n;
            }

            return count;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static long CountOverflows(ReadOnlySpan<uint> words, uint limit)
    {
        long count = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated && words.Length >= Vector<uint>.Count)
        {
            var vectors = MemoryMarshal.Cast<uint, Vector<uint>>(words);
            var magnitudeMask = new Vector<uint>(0x7FFFFFFFu);
            var low = new Vector<uint>(limit);
            var infinity = new Vector<uint>(0x7F800000u);
            var one = Vector<uint>.One;
            var lanes = Vector<uint>.Zero;
            foreach (var v in vectors)
            {
                var magnitude = v & magnitudeMask;
                var hit = Vector.GreaterThanOrEqual(magnitude, low) & Vector.LessThan(magnitude, infinity);
                lanes += hit & one;
            }

            for (var lane = 0; lane < Vector<uint>.Count; lane++)
            {
                count += lanes[lane];
            }

            // a piece holds at most 1 Mi elements, so a lane's count cannot wrap
            i = vectors.Length * Vector<uint>.Count;
        }

        for (; i < words.Length; i++)
        {
            var magnitude = words[i] & 0x7FFFFFFFu;
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
        var source = tensor.Data;
        var result = new byte[(source.Length / 4) * 2];
        var buffer = new byte[(int)Math.Min(PieceBytes, source.Length & ~3L)];
        for (long done = 0; done < (source.Length & ~3L);)
        {
            var n = (int)Math.Min(buffer.Length, (source.Length & ~3L) - done);
            source.Read(done, buffer.AsSpan(0, n));
            ConvertPiece(MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, n)), MemoryMarshal.Cast<byte, ushort>(result.AsSpan((int)(done / 2), n / 2)), target, clamp);
            done += n;
        }

        return new Tensor(target, tensor.Dims, TensorData.FromBytes(result), name) { DocString = tensor.DocString, MetadataProps = tensor.MetadataProps };
    }

    /// <summary>
    /// The same tensor as <see cref="Convert"/>, whose bytes are computed when read: streamed piece by
    /// piece by <see cref="TensorData.CopyTo"/>, so converting gigabytes of weights holds one piece.
    /// </summary>
    public static Tensor ConvertLazy(Tensor tensor, DataType target, bool clamp, string name) =>
        new(target, tensor.Dims, new HalfTensorData(tensor.Data, target, clamp), name) { DocString = tensor.DocString, MetadataProps = tensor.MetadataProps };

    /// <summary>Converts one piece of float32 elements; eager and lazy conversions both go through here.</summary>
    internal static void ConvertPiece(ReadOnlySpan<float> source, Span<ushort> destination, DataType target, bool clamp)
    {
        var done = target == DataType.Float16 ? ConvertFloat16Vectorized(MemoryMarshal.Cast<float, uint>(source), destination, clamp) : 0;
        ConvertScalar(source[done..], destination[done..], target, clamp);
    }

    private static void ConvertScalar(ReadOnlySpan<float> source, Span<ushort> destination, DataType target, bool clamp)
    {
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
    }

    /// <summary>
    /// float32 → float16 with round to nearest even, many lanes at a time, bit for bit what
    /// <c>(Half)x</c> gives (F. Giesen's float_to_half_fast3_rtne): normal results by integer rounding
    /// of the re-biased bits, subnormal results by a float add that lets the FPU round, ±infinity from
    /// 65520 up. Blocks holding a NaN are left to the scalar path (the NaN payload rules are .NET's).
    /// Returns how many leading elements it converted.
    /// </summary>
    private static int ConvertFloat16Vectorized(ReadOnlySpan<uint> source, Span<ushort> destination, bool clamp)
    {
        var width = Vector<uint>.Count;
        if (!Vector.IsHardwareAccelerated || source.Length < 2 * width)
        {
            return 0;
        }

        var signMask = new Vector<uint>(0x80000000u);
        var infinityBits = new Vector<uint>(0x7F800000u);
        var overflow = new Vector<uint>(0x47800000u);
        var smallest = new Vector<uint>(0x38800000u);
        var rebias = new Vector<uint>(0xC8000FFFu);
        var one = Vector<uint>.One;
        var magic = new Vector<uint>(0x3F000000u);
        var halfInfinity = new Vector<uint>(0x7C00u);
        var halfMax = new Vector<uint>(0x7BFFu);
        var low15 = new Vector<uint>(0x7FFFu);
        var i = 0;
        for (; i + (2 * width) <= source.Length; i += 2 * width)
        {
            var a = new Vector<uint>(source.Slice(i, width));
            var b = new Vector<uint>(source.Slice(i + width, width));
            if (Vector.GreaterThanAny(a & ~signMask, infinityBits) || Vector.GreaterThanAny(b & ~signMask, infinityBits))
            {
                ConvertScalar(MemoryMarshal.Cast<uint, float>(source.Slice(i, 2 * width)), destination.Slice(i, 2 * width), DataType.Float16, clamp);
                continue;
            }

            var narrowed = Vector.Narrow(ToHalfBits(a), ToHalfBits(b));
            narrowed.CopyTo(destination.Slice(i, 2 * width));
        }

        return i;

        Vector<uint> ToHalfBits(Vector<uint> bits)
        {
            var sign = bits & signMask;
            var magnitude = bits ^ sign;
            var normal = Vector.ShiftRightLogical(magnitude + rebias + (Vector.ShiftRightLogical(magnitude, 13) & one), 13);
            var subnormal = Vector.AsVectorUInt32(Vector.AsVectorSingle(magnitude) + Vector.AsVectorSingle(magic)) - magic;
            var result = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(magnitude, overflow), halfInfinity,
                Vector.ConditionalSelect(Vector.LessThan(magnitude, smallest), subnormal, normal));
            if (clamp)
            {
                // finite inputs that rounded to infinity become the largest finite half (infinities stay)
                result = Vector.ConditionalSelect(Vector.Equals(result & low15, halfInfinity) & Vector.LessThan(magnitude, infinityBits), halfMax, result);
            }

            return result | Vector.ShiftRightLogical(sign, 16);
        }
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

/// <summary>
/// The 16-bit conversion of a float32 payload, computed when read. Streaming (<see cref="CopyTo"/>,
/// <see cref="Read"/>) converts one piece at a time from positional reads of the source; only
/// <see cref="Span"/> (a pass computing on the values) materializes the whole array, once.
/// </summary>
internal sealed class HalfTensorData(TensorData source, DataType target, bool clamp) : TensorData
{
    private byte[]? materialized;

    public override long Length => (source.Length / 4) * 2;

    public override string Origin => "computed";

    public override ReadOnlySpan<byte> Span
    {
        get
        {
            if (Volatile.Read(ref materialized) is { } done)
            {
                return done;
            }

            var bytes = new byte[checked((int)Length)];
            Read(0, bytes);
            return Interlocked.CompareExchange(ref materialized, bytes, null) ?? bytes;
        }
    }

    public override void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        if (Volatile.Read(ref materialized) is { } done)
        {
            done.AsSpan(checked((int)offset), destination.Length).CopyTo(destination);
            return;
        }

        // whole elements covering [offset, offset + length): the element at offset/2 onwards
        var first = offset / 2;
        var end = (offset + destination.Length + 1) / 2;
        var input = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(HalfConversion.PieceBytes, Math.Max(4, (end - first) * 4)));
        var output = System.Buffers.ArrayPool<byte>.Shared.Rent(input.Length / 2);
        try
        {
            var written = 0;
            for (var element = first; element < end;)
            {
                var count = (int)Math.Min(input.Length / 4, end - element);
                source.Read(element * 4, input.AsSpan(0, count * 4));
                HalfConversion.ConvertPiece(MemoryMarshal.Cast<byte, float>(input.AsSpan(0, count * 4)), MemoryMarshal.Cast<byte, ushort>(output.AsSpan(0, count * 2)), target, clamp);
                var skip = element == first ? (int)(offset - (first * 2)) : 0;
                var take = Math.Min((count * 2) - skip, destination.Length - written);
                output.AsSpan(skip, take).CopyTo(destination[written..]);
                written += take;
                element += count;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(input);
            System.Buffers.ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>
    /// Streams the converted bytes: while one piece is written, the next is read and converted on
    /// another thread (two pieces in flight, 12 MiB in all).
    /// </summary>
    public override void CopyTo(Stream destination)
    {
        if (Volatile.Read(ref materialized) is { } done)
        {
            destination.Write(done);
            return;
        }

        var total = source.Length & ~3L;
        if (total == 0)
        {
            return;
        }

        // pooled: a model's hundreds of weights reuse the same 12 MiB instead of faulting in fresh memory each
        var pool = System.Buffers.ArrayPool<byte>.Shared;
        var pieceBytes = (int)Math.Min(HalfConversion.PieceBytes, total);
        var inputs = new[] { pool.Rent(pieceBytes), pool.Rent(pieceBytes) };
        var outputs = new[] { pool.Rent(pieceBytes / 2), pool.Rent(pieceBytes / 2) };
        var pieces = (int)((total + pieceBytes - 1) / pieceBytes);
        int Produce(int piece)
        {
            var slot = piece % 2;
            var start = (long)piece * pieceBytes;
            var n = (int)Math.Min(pieceBytes, total - start);
            source.Read(start, inputs[slot].AsSpan(0, n));
            HalfConversion.ConvertPiece(MemoryMarshal.Cast<byte, float>(inputs[slot].AsSpan(0, n)), MemoryMarshal.Cast<byte, ushort>(outputs[slot].AsSpan(0, n / 2)), target, clamp);
            return n / 2;
        }

        var pending = Task.Run(() => Produce(0));
        try
        {
            for (var piece = 0; piece < pieces; piece++)
            {
                var length = pending.GetAwaiter().GetResult();
                if (piece + 1 < pieces)
                {
                    var next = piece + 1;
                    pending = Task.Run(() => Produce(next));
                }

                destination.Write(outputs[piece % 2], 0, length);
            }
        }
        finally
        {
            // never leave a conversion running into buffers returned to the pool; the first failure is the one reported
            _ = pending.ContinueWith(t => t.Exception, TaskScheduler.Default).Wait(Timeout.Infinite);
            foreach (var buffer in inputs.Concat(outputs))
            {
                pool.Return(buffer);
            }
        }
    }
}
