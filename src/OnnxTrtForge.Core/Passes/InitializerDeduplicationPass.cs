using System.Runtime.InteropServices;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Merges initializers of one graph whose payloads are byte-equal with the same element type and
/// shape: candidates are grouped by type, shape and a hash, then compared byte for byte; uses of the
/// later ones move to the first. Initializers that are graph inputs or outputs stay distinct.
/// </summary>
public sealed class InitializerDeduplicationPass : IGraphPass
{
    /// <summary>Payloads up to this size are hashed whole; larger ones by samples (the full comparison decides).</summary>
    private const int FullHashLimit = 64 * 1024;

    public string Name => "dedup-initializers";

    public PassResult Run(Model model)
    {
        var scope = new GraphScope(model.Graph);
        var outputs = scope.OutputValues();
        using var reader = new PayloadReader();
        long merged = 0, bytes = 0;
        var notes = new List<string>();
        foreach (var graph in scope.Graphs)
        {
            var inputs = graph.Inputs.ToHashSet();

            // Only initializers that share type, shape and size with another are candidates; most weights don't.
            var candidates = graph.Initializers
                .Where(v => v.Initializer!.Strings is null && !inputs.Contains(v) && !outputs.Contains(v))
                .GroupBy(v => (v.Initializer!.Type, string.Join(",", v.Initializer.Dims), v.Initializer.ByteLength))
                .Where(g => g.Count() > 1);
            foreach (var group in candidates)
            {
                var kept = new Dictionary<ulong, List<Value>>();
                foreach (var value in group)
                {
                    var tensor = value.Initializer!;
                    var hash = reader.Hash(tensor.Data);
                    if (!kept.TryGetValue(hash, out var same))
                    {
                        kept[hash] = [value];
                        continue;
                    }

                    var twin = same.FirstOrDefault(k => reader.Equal(k.Initializer!.Data, tensor.Data));
                    if (twin is null)
                    {
                        same.Add(value);
                        continue;
                    }

                    scope.ReplaceAllUsesWith(value, twin);
                    graph.RemoveInitializer(value);
                    merged++;
                    bytes += tensor.ByteLength;
                    if (tensor.ByteLength >= LargeNote)
                    {
                        notes.Add($"initializer '{value.Name}' ({tensor.ByteLength} bytes) is byte-equal to '{twin.Name}' and now shares it");
                    }
                }
            }
        }

        return new PassResult(merged > 0) { Counters = new Dictionary<string, long> { ["merged"] = merged, ["bytes-saved"] = bytes }, Notes = notes };
    }

    /// <summary>Merges of payloads this large are named in the notes.</summary>
    private const long LargeNote = 1 << 20;

    /// <summary>
    /// Reads payload bytes for hashing and comparison. Weights backed by a file are read with positional
    /// reads, not through the memory map, so comparing gigabytes never grows the resident set.
    /// </summary>
    private sealed class PayloadReader : IDisposable
    {
        private const int Chunk = 1 << 20;
        private readonly Dictionary<string, Microsoft.Win32.SafeHandles.SafeFileHandle> handles = new(StringComparer.Ordinal);
        private readonly byte[] a = new byte[Chunk];
        private readonly byte[] b = new byte[Chunk];

        /// <summary>
        /// FNV-style 64-bit hash: the whole payload when small, else its first and last 4 KiB. Two reads per
        /// weight keep a cold page cache from turning hashing into thousands of random reads; payloads that
        /// agree there are told apart by the full comparison.
        /// </summary>
        public ulong Hash(TensorData data)
        {
            var length = data.Length;
            if (length <= FullHashLimit)
            {
                return HashSpan(Read(data, 0, (int)length, a), 14695981039346656037UL);
            }

            const int sample = 4096;
            var h = HashSpan(Read(data, 0, sample, a), 14695981039346656037UL);
            return HashSpan(Read(data, length - sample, sample, a), h);
        }

        public bool Equal(TensorData x, TensorData y)
        {
            if (x.Length != y.Length)
            {
                return false;
            }

            for (long done = 0; done < x.Length; done += Chunk)
            {
                var n = (int)Math.Min(Chunk, x.Length - done);
                if (!Read(x, done, n, a).SequenceEqual(Read(y, done, n, b)))
                {
                    return false;
                }
            }

            return true;
        }

        private ReadOnlySpan<byte> Read(TensorData data, long offset, int count, byte[] buffer)
        {
            if (data is not MappedTensorData mapped)
            {
                return data.Span.Slice((int)offset, count);
            }

            if (!handles.TryGetValue(mapped.FilePath, out var handle))
            {
                handle = File.OpenHandle(mapped.FilePath, FileMode.Open, FileAccess.Read, FileShare.Read);
                handles[mapped.FilePath] = handle;
            }

            var span = buffer.AsSpan(0, count);
            for (var done = 0; done < count;)
            {
                var n = RandomAccess.Read(handle, span[done..], mapped.FileOffset + offset + done);
                if (n <= 0)
                {
                    throw new IOException($"{mapped.FilePath}: file ended while reading a tensor payload");
                }

                done += n;
            }

            return span;
        }

        public void Dispose()
        {
            foreach (var handle in handles.Values)
            {
                handle.Dispose();
            }
        }
    }

    private static ulong HashSpan(ReadOnlySpan<byte> span, ulong h)
    {
        const ulong prime = 1099511628211UL;
        var words = MemoryMarshal.Cast<byte, ulong>(span);
        foreach (var w in words)
        {
            h = (h ^ w) * prime;
            h ^= h >> 29;
        }

        for (var i = words.Length * 8; i < span.Length; i++)
        {
            h = (h ^ span[i]) * prime;
        }

        return h;
    }
}
