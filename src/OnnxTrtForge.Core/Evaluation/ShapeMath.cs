namespace OnnxTrtForge.Core.Evaluation;

/// <summary>Shape arithmetic shared by evaluation and inference: numpy broadcasting, axes, strides.</summary>
public static class ShapeMath
{
    public static long Product(IEnumerable<long> dims)
    {
        long n = 1;
        foreach (var d in dims)
        {
            n *= d;
        }

        return n;
    }

    /// <summary>The numpy broadcast of shapes; null when they are incompatible.</summary>
    public static long[]? Broadcast(IReadOnlyList<long[]> shapes)
    {
        var rank = shapes.Max(s => s.Length);
        var result = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            long size = 1;
            foreach (var s in shapes)
            {
                var k = i - (rank - s.Length);
                if (k < 0)
                {
                    continue;
                }

                var d = s[k];
                if (d == size || d == 1)
                {
                    continue;
                }

                if (size != 1)
                {
                    return null;
                }

                size = d;
            }

            result[i] = size;
        }

        return result;
    }

    public static long[] Strides(long[] dims)
    {
        var strides = new long[dims.Length];
        long s = 1;
        for (var i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= dims[i];
        }

        return strides;
    }

    /// <summary>For each flat index of <paramref name="outDims"/>, the flat index of the broadcast input of shape <paramref name="inDims"/>.</summary>
    public static int[] BroadcastIndex(long[] inDims, long[] outDims)
    {
        var count = (int)Product(outDims);
        var map = new int[count];
        var offset = outDims.Length - inDims.Length;
        var inStrides = Strides(inDims);
        var outStrides = Strides(outDims);
        for (var i = 0; i < count; i++)
        {
            long rest = i;
            long src = 0;
            for (var d = 0; d < outDims.Length; d++)
            {
                var coord = rest / outStrides[d];
                rest %= outStrides[d];
                var k = d - offset;
                if (k >= 0 && inDims[k] != 1)
                {
                    src += coord * inStrides[k];
                }
            }

            map[i] = (int)src;
        }

        return map;
    }

    /// <summary>Normalizes a possibly negative axis against <paramref name="rank"/>; throws when out of range.</summary>
    public static int Axis(long axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1))
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} out of range for rank {rank}");
        }

        return (int)a;
    }

    /// <summary>The shape Reshape produces (0 copies the input dimension unless allowzero, -1 is inferred).</summary>
    public static long[]? ReshapeTarget(long[] input, long[] shape, bool allowZero)
    {
        var result = new long[shape.Length];
        var inferred = -1;
        long known = 1;
        for (var i = 0; i < shape.Length; i++)
        {
            var d = shape[i];
            if (d == 0 && !allowZero)
            {
                if (i >= input.Length)
                {
                    return null;
                }

                d = input[i];
            }

            if (d == -1)
            {
                if (inferred >= 0)
                {
                    return null;
                }

                inferred = i;
                continue;
            }

            result[i] = d;
            known *= d;
        }

        var total = Product(input);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                return null;
            }

            result[inferred] = total / known;
        }
        else if (known != total)
        {
            return null;
        }

        return result;
    }

    /// <summary>Resolved [start, end, step] for one Slice axis of size <paramref name="dim"/> (numpy clamping rules).</summary>
    public static (long Start, long End, long Step, long Count) SliceRange(long dim, long start, long end, long step)
    {
        if (step == 0)
        {
            throw new ArgumentException("slice step 0");
        }

        start = start < 0 ? start + dim : start;
        end = end < 0 ? end + dim : end;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
        }
        else
        {
            start = Math.Clamp(start, -1, dim - 1);
            end = Math.Clamp(end, -1, dim - 1);
        }

        // 128-bit so that extreme steps (long.MinValue, long.MaxValue) cannot wrap the length
        var count = step > 0
            ? Int128.Max(0, ((Int128)end - start + step - 1) / step)
            : Int128.Max(0, ((Int128)start - end - (Int128)step - 1) / -(Int128)step);
        return (start, end, step, (long)count);
    }
}
