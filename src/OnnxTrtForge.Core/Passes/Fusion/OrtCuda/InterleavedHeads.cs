using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// k projection weights [D, N·H] read as one [D, N·k·H] tensor whose row holds, per head, the k slices
/// of H columns side by side: the packed layout MultiHeadAttention reads ([B,S,N,k,H]). Bytes are
/// computed row by row when read or written, so the source weights are never copied into memory.
/// </summary>
internal sealed class InterleavedHeads : TensorData
{
    private readonly IReadOnlyList<Tensor> weights;
    private readonly long rows;
    private readonly int chunk;
    private readonly int sourceRow;
    private readonly int packedRow;
    private readonly long heads;

    public InterleavedHeads(IReadOnlyList<Tensor> weights, long heads, long headSize)
    {
        this.weights = weights;
        this.heads = heads;
        rows = weights[0].Dims[0];
        var element = weights[0].Type.ElementSize();
        chunk = checked((int)(headSize * element));
        sourceRow = checked((int)(heads * headSize * element));
        packedRow = checked(sourceRow * weights.Count);
    }

    public override long Length => rows * packedRow;

    public override string Origin => "packed attention weights";

    public override ReadOnlySpan<byte> Span
    {
        get
        {
            var bytes = new byte[Length];
            for (long r = 0; r < rows; r++)
            {
                FillRow(r, bytes.AsSpan(checked((int)(r * packedRow)), packedRow));
            }

            return bytes;
        }
    }

    public override void CopyTo(Stream destination)
    {
        var row = new byte[packedRow];
        for (long r = 0; r < rows; r++)
        {
            FillRow(r, row);
            destination.Write(row);
        }
    }

    public override void Read(long offset, Span<byte> destination)
    {
        var row = new byte[packedRow];
        var written = 0;
        while (written < destination.Length)
        {
            var position = offset + written;
            var within = (int)(position % packedRow);
            FillRow(position / packedRow, row);
            var count = Math.Min(packedRow - within, destination.Length - written);
            row.AsSpan(within, count).CopyTo(destination.Slice(written, count));
            written += count;
        }
    }

    private void FillRow(long r, Span<byte> row)
    {
        var k = weights.Count;
        for (var t = 0; t < k; t++)
        {
            for (var n = 0; n < heads; n++)
            {
                weights[t].Data.Read((r * sourceRow) + (n * chunk), row.Slice(((n * k) + t) * chunk, chunk));
            }
        }
    }
}
